"""The table DataFrame (``table.build_table``) as Markdown, LaTeX, CSV or a rich console table, and as files.

Every view formats the same numbers: ``display`` lays out one frame of cell
strings (with a mask of best-set cells) that pandas writes as Markdown
(``to_markdown``, via tabulate) or LaTeX (``Styler.to_latex`` with booktabs
rules) and rich prints; CSV is the numeric frame itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import rich.table
from rich.text import Text

from ltbench.fileio.atomic import write_text
from ltbench.runs.test_selected import ORACLE_LABEL
from ltbench.reports.reference import METRICS
from ltbench.reports.table import DATASET_TITLES
from ltbench.runs.random_weights import DAGGER

DECIMALS = 2
MISSING = "–"
PUBLISHED, DIFF = "↳ published", "↳ ours − published"


class Display(NamedTuple):
    cells: pd.DataFrame  # strings; index = shown row names, columns = (dataset title, column)
    bold: pd.DataFrame  # same shape: cells in their column's best set
    kinds: list[str]  # per row: "ours", "published" or "diff"


def _number(value: float, fmt: str = f".{DECIMALS}f") -> str:
    return MISSING if value is None or np.isnan(value) else format(value, fmt)


def _estimate(row: pd.Series, metric: str, pm: str) -> str:
    """``mean ± std [low, high]``: std only with several seeds, the interval where test scores were read."""
    text = _number(row[f"{metric}_mean"])
    if not np.isnan(row[f"{metric}_std"]):
        text += f" {pm} {_number(row[f'{metric}_std'])}"
    if not np.isnan(row[f"{metric}_low"]):
        text += f" [{_number(row[f'{metric}_low'], '.1f')}, {_number(row[f'{metric}_high'], '.1f')}]"
    return text


def display(frame: pd.DataFrame, pm: str = "±") -> Display:
    """The shown rows: ours per label (a dagger on smoke rows), then its published and difference rows."""
    datasets, oracle = frame.attrs["datasets"], frame.attrs["oracle"]
    columns = [(DATASET_TITLES.get(ds, ds), col) for ds in datasets
               for col in (*METRICS, "n", *((ORACLE_LABEL,) if oracle else ()))]
    rows: dict[str, tuple[str, dict, dict]] = {}
    for label in frame.attrs["labels"]:
        own = frame[frame["label"] == label].set_index("dataset")
        if own.empty:
            continue
        ours, published, diff, bold = {}, {}, {}, {}
        for ds in datasets:
            title = DATASET_TITLES.get(ds, ds)
            if ds not in own.index:
                continue
            row = own.loc[ds]
            for metric in METRICS:
                ours[(title, metric)] = _estimate(row, metric, pm)
                bold[(title, metric)] = bool(row[f"{metric}_best"])
                published[(title, metric)] = _number(row[f"{metric}_published"])
                diff[(title, metric)] = _number(row[f"{metric}_diff"], f"+.{DECIMALS}f")
            ours[(title, "n")] = str(row["n"])
            for extra in ("n", *((ORACLE_LABEL,) if oracle else ())):  # nothing published under n or test-selected
                published[(title, extra)] = diff[(title, extra)] = ""
            if oracle:
                mean, std = row["test_selected_mean"], row["test_selected_std"]
                ours[(title, ORACLE_LABEL)] = _number(mean) + ("" if np.isnan(std) else f" {pm} {_number(std)}")
        name = label + (f" {DAGGER}" if own["smoke"].any() else "")
        rows[name] = ("ours", ours, bold)
        if own["published_source"].astype(bool).any():
            rows[f"{name} {PUBLISHED}"] = ("published", published, {})
            rows[f"{name} {DIFF}"] = ("diff", diff, {})
    index = pd.MultiIndex.from_tuples(columns)
    cells = pd.DataFrame([values for _, values, _ in rows.values()], index=list(rows), columns=index).fillna(MISSING)
    bold = pd.DataFrame([[flags.get(column, False) for column in columns] for _, _, flags in rows.values()],
                        index=list(rows), columns=index, dtype=bool)
    return Display(cells, bold, [kind for kind, _, _ in rows.values()])


def _row_name(name: str, kind: str) -> str:
    """``ERM ↳ published`` is shown as ``↳ published`` under its own row."""
    return name[name.index("↳"):] if kind != "ours" else name


def render_markdown(frame: pd.DataFrame) -> str:
    view = display(frame)
    cells = view.cells.where(~view.bold, "**" + view.cells + "**")
    cells.columns = [f"{title} {col}" for title, col in cells.columns]
    cells.insert(0, "Method", [_row_name(name, kind) for name, kind in zip(cells.index, view.kinds)])
    body = cells.to_markdown(index=False, colalign=("left", *["right"] * (cells.shape[1] - 1)))
    return body + "\n\n" + "\n".join(frame.attrs["notes"]) + "\n"


def render_latex(frame: pd.DataFrame) -> str:
    """A booktabs ``tabular`` (needs ``\\usepackage{booktabs}``), the best set in bold, notes as comments."""
    view = display(frame, pm=r"$\pm$")
    cells = view.cells.replace(MISSING, "--")
    names = [_row_name(name, kind).replace("↳ ", r"\quad ").replace("−", "$-$") for name, kind in
             zip(cells.index, view.kinds)]
    cells.index = [_latex_label(name) for name in names]
    styler = cells.style.apply(lambda _: np.where(view.bold, "textbf:--rwrap;", ""), axis=None)
    latex = styler.to_latex(hrules=True, multicol_align="c", column_format="l" + "r" * cells.shape[1])
    return latex + "".join(f"% {note}\n" for note in frame.attrs["notes"])


def _latex_label(name: str) -> str:
    for char, escaped in (("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#")):
        name = name.replace(char, escaped)
    return name.replace(DAGGER, r"$^\dagger$")


def render_rich(frame: pd.DataFrame) -> rich.table.Table:
    """A rich table for the console (print it with ``rich.console.Console().print``)."""
    view = display(frame)
    table = rich.table.Table(caption=Text("\n".join(frame.attrs["notes"])), caption_justify="left")
    table.add_column("Method")
    for title, col in view.cells.columns:
        table.add_column(f"{title}\n{col}", justify="right")
    for (name, values), kind in zip(view.cells.iterrows(), view.kinds):
        flags = view.bold.loc[name]
        cells = [Text(str(v), style="bold" if flag else "") for v, flag in zip(values, flags)]
        table.add_row(Text("  " + _row_name(name, kind) if kind != "ours" else name), *cells,
                      style="" if kind == "ours" else "dim")
    return table


def render_csv(frame: pd.DataFrame) -> str:
    """The numeric table: one line per (label, dataset), every statistic in its own column."""
    return frame.to_csv(index=False, float_format="%.4f", lineterminator="\n")


def write_tables(frame: pd.DataFrame, out_dir: str | Path, stem: str) -> list[Path]:
    """Write ``<stem>.md``, ``.csv`` and ``.tex`` atomically into ``out_dir``; return their paths."""
    paths = []
    for suffix, render in ((".md", render_markdown), (".csv", render_csv), (".tex", render_latex)):
        path = Path(out_dir) / f"{stem}{suffix}"
        write_text(path, render(frame))
        paths.append(path)
    return paths
