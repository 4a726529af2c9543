"""A built ``Table`` rendered as Markdown, LaTeX, CSV or a rich console table, and written to files."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Literal, NamedTuple

import rich.table
from rich.text import Text

from ltbench.fileio import write_text
from ltbench.oracle import ORACLE_LABEL
from ltbench.reports.reference import METRICS
from ltbench.reports.table import DATASET_TITLES, DECIMALS, MISSING, NOTE, ORACLE_NOTE, Stat, Table


class _Value(NamedTuple):
    text: str
    std: str | None = None
    bold: bool = False


class _Line(NamedTuple):
    kind: Literal["ours", "published", "diff"]
    label: str
    values: list[_Value]  # per dataset: the metrics, then n


def _num(value: float) -> str:
    return f"{value:.{DECIMALS}f}"


def _stat_value(stat: Stat | None) -> _Value:
    if stat is None:
        return _Value(MISSING)
    return _Value(_num(stat.mean), None if stat.std is None else _num(stat.std))


def _lines(table: Table) -> list[_Line]:
    """The displayed rows: ours per label, then its published and difference rows where matched."""
    lines = []
    for label in table.labels:
        ours: list[_Value] = []
        published: list[_Value] = []
        diff: list[_Value] = []
        for dataset in table.datasets:
            cell = table.cells.get((dataset, label))
            extra = [_Value("")] * (2 if table.oracle else 1)  # under n (and the test-selected column)
            if cell is None:
                ours += [_Value(MISSING)] * (len(METRICS) + len(extra))
            else:
                ours += [
                    _Value(_num(s.mean), None if s.std is None else _num(s.std), (dataset, label, m) in table.best)
                    for m, s in cell.stats.items()
                ] + [_Value(str(cell.n))] + ([_stat_value(cell.oracle)] if table.oracle else [])
            if cell is None or cell.published is None:
                published += [_Value(MISSING)] * len(METRICS) + extra
                diff += [_Value(MISSING)] * len(METRICS) + extra
            else:
                published += [_Value(_num(cell.published.values[m])) for m in METRICS] + extra
                diff += [_Value(f"{cell.diff(m):+.{DECIMALS}f}") for m in METRICS] + extra
        lines.append(_Line("ours", label, ours))
        if any(cell.published for (_, lb), cell in table.cells.items() if lb == label):
            lines += [_Line("published", label, published), _Line("diff", label, diff)]
    return lines


def _columns(table: Table) -> list[tuple[str, str]]:
    """(dataset title, metric or "n", then the test-selected column if shown) for every value column."""
    extra = (ORACLE_LABEL,) if table.oracle else ()
    return [(DATASET_TITLES.get(ds, ds), col) for ds in table.datasets for col in (*METRICS, "n", *extra)]


def render_markdown(table: Table) -> str:
    names = {"published": "↳ published", "diff": "↳ ours − published"}
    header = ["Method"] + [f"{title} {col}" for title, col in _columns(table)]
    out = ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
    for line in _lines(table):
        cells = [v.text + (f" ± {v.std}" if v.std else "") for v in line.values]
        cells = [f"**{c}**" if v.bold else c for c, v in zip(cells, line.values)]
        out.append("| " + " | ".join([names.get(line.kind, line.label), *cells]) + " |")
    out += ["", NOTE] + ([ORACLE_NOTE] if table.oracle else [])
    if table.sources():
        out.append(f"Published: {'; '.join(table.sources())}.")
    return "\n".join(out) + "\n"


def _latex_escape(text: str) -> str:
    for char, escaped in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#")):
        text = text.replace(char, escaped)
    return text.replace(MISSING, "--")


def render_latex(table: Table) -> str:
    """A booktabs ``tabular`` (needs ``\\usepackage{booktabs}``), best per column in ``\\textbf``."""
    names = {"published": r"\quad published", "diff": r"\quad ours $-$ published"}
    width = len(METRICS) + 1 + table.oracle
    groups = " & ".join(
        rf"\multicolumn{{{width}}}{{c}}{{{_latex_escape(DATASET_TITLES.get(ds, ds))}}}" for ds in table.datasets
    )
    rules = " ".join(rf"\cmidrule(lr){{{2 + i * width}-{1 + (i + 1) * width}}}" for i in range(len(table.datasets)))
    out = [
        rf"\begin{{tabular}}{{l{' ' + 'r' * width * len(table.datasets)}}}",
        r"\toprule",
        rf" & {groups} \\",
        rules,
        "Method & " + " & ".join("$n$" if col == "n" else col.capitalize() for _, col in _columns(table)) + r" \\",
        r"\midrule",
    ]
    for line in _lines(table):
        cells = [_latex_escape(v.text) + (rf" $\pm$ {v.std}" if v.std else "") for v in line.values]
        cells = [rf"\textbf{{{c}}}" if v.bold else c for c, v in zip(cells, line.values)]
        out.append(" & ".join([names.get(line.kind, _latex_escape(line.label)), *cells]) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(out) + "\n"


def render_rich(table: Table) -> rich.table.Table:
    """A rich table for the console (print it with ``rich.console.Console().print``)."""
    names = {"published": "  published", "diff": "  ours − published"}
    caption = NOTE + (f"\n{ORACLE_NOTE}" if table.oracle else "")
    caption += f"\nPublished: {'; '.join(table.sources())}." if table.sources() else ""
    view = rich.table.Table(caption=caption)
    view.add_column("Method")
    for title, col in _columns(table):
        view.add_column(f"{title}\n{col}", justify="right")
    for line in _lines(table):
        style = "" if line.kind == "ours" else "dim"
        cells = [Text(v.text + (f" ± {v.std}" if v.std else ""), style="bold" if v.bold else "") for v in line.values]
        view.add_row(names.get(line.kind, line.label), *cells, style=style)
    return view


def render_csv(table: Table) -> str:
    """One line per (label, dataset): n, then mean/std/published/diff per metric; blanks where none."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["label", "dataset", "n"]
        + [f"{m}_{part}" for m in METRICS for part in ("mean", "std", "published", "diff")]
        + ["published_source"]
        + (["test_selected_mean", "test_selected_std"] if table.oracle else [])
    )

    def number(value: float | None) -> str:
        return "" if value is None else f"{value:.4f}"

    for label in table.labels:
        for dataset in table.datasets:
            cell = table.cells.get((dataset, label))
            if cell is None:
                continue
            values = []
            for m in METRICS:
                published = cell.published.values[m] if cell.published else None
                values += [number(cell.stats[m].mean), number(cell.stats[m].std), number(published)]
                values.append(number(cell.diff(m)))
            oracle = [number(cell.oracle and cell.oracle.mean), number(cell.oracle and cell.oracle.std)]
            writer.writerow([label, dataset, cell.n, *values, cell.published.source if cell.published else "",
                             *(oracle if table.oracle else [])])
    return buffer.getvalue()


def write_tables(table: Table, out_dir: str | Path, stem: str) -> list[Path]:
    """Write ``<stem>.md``, ``.csv`` and ``.tex`` atomically into ``out_dir``; return their paths."""
    paths = []
    for suffix, render in ((".md", render_markdown), (".csv", render_csv), (".tex", render_latex)):
        path = Path(out_dir) / f"{stem}{suffix}"
        write_text(path, render(table))
        paths.append(path)
    return paths
