"""Render the boards as a static site: Jinja2 pages, pandas Styler tables, SVG figures, one inline sort script.

Everything a page needs is in the output folder (no server, no CDN, relative
links), so the folder opens from disk and from any static host. The site is
written into a temporary sibling folder and swapped in whole, so a reader never
sees half a site; a folder that holds something other than an earlier site is
refused.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from ltbench.config.layering import dump_yaml
from ltbench.errors import LtbenchError
from ltbench.fileio.atomic import write_text
from ltbench.leaderboard.boards import PAPER, SUBMISSION, Board, Row, is_submission, run_code, run_config_id
from ltbench.leaderboard.cards import CardPage, card_page, card_path, ltbench_values
from ltbench.leaderboard.parallel import BuildPlan
from ltbench.recipes.cards import Card
from ltbench.reports.bootstrap import RESAMPLES
from ltbench.reports.reference import METRICS
from ltbench.reports.render import DECIMALS, MISSING, display
from ltbench.reports.table import DATASET_TITLES
from ltbench.runs.random_weights import DAGGER

MARKER = ".ltbench-leaderboard"  # marks a folder this command wrote, so it may be replaced
BOARD_COLUMNS = ("Method", "Source", *(m.capitalize() for m in METRICS), "n", "Checkpoint", "Published total",
                 "Gap", "In 95% interval", "Recipe card", "Config", "Code")
TEXT_COLUMNS = {"Method", "Source", "Checkpoint", "Recipe card", "Config", "Code"}
UNBROKEN_COLUMNS = {"Method"}  # short names, kept on one line (Config and Code: one unbroken line per value)


@dataclass(frozen=True)
class Page:
    path: str  # relative to the site root
    template: str
    context: dict[str, Any]

    @property
    def root(self) -> str:
        return "../" * self.path.count("/")


def _number(value: float, fmt: str = f".{DECIMALS}f") -> str:
    return MISSING if value is None or np.isnan(value) else format(value, fmt)


def _link(href: str, text: str, css: str = "") -> Markup:
    if css:
        return Markup('<a class="{}" href="{}">{}</a>').format(css, href, text)
    return Markup('<a href="{}">{}</a>').format(href, text)


def _frame(records: list[dict[str, Any]], columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Cells as safe HTML: text escaped here, links (Markup) kept; object columns, as pandas' string dtype
    would turn Markup back into plain text."""
    safe = [{key: value if isinstance(value, Markup) else escape(str(value)) for key, value in record.items()}
            for record in records]
    return pd.DataFrame(safe, columns=list(columns) if columns else None, dtype=object)


def _styled(cells: pd.DataFrame, table_id: str, classes: pd.DataFrame | None = None, sortable: bool = True) -> Markup:
    """A pandas Styler table of ``_frame`` cells (already safe HTML), classes per cell, no index."""
    styler = cells.style.hide(axis="index").set_uuid(table_id)
    if classes is not None:  # text columns' headers align with their left-aligned cells
        text = [column for column in cells.columns if classes[column].str.contains("text").any()]
        styler = styler.set_table_styles({column: [{"selector": "th", "props": "text-align: left"}] for column in text})
    styler = styler.set_table_attributes(f'class="{"sortable" if sortable else "plain"}"')  # id: T_<table_id>
    if classes is not None:
        styler = styler.set_td_classes(classes)
    return Markup(styler.to_html(doctype_html=False))


def row_page(board: Board, row: Row) -> str:
    return f"rows/{board.key}/{row.slug}.html"


def board_page(board: Board) -> str:
    return f"boards/{board.key}.html"


def _card_links(cards: Iterable[Card], root: str) -> Markup:
    return Markup(" · ").join(_link(root + card_path(card), _card_name(card), "card-link") for card in cards) or MISSING


def _card_name(card: Card) -> str:
    return DATASET_TITLES.get(card.dataset, card.dataset) + (f" {card.preset}" if card.preset else "")


def _estimates(board: Board) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The console's cells for the board's run rows (``render.display``): the same text, the same bold."""
    if board.frame is None:
        return None, None
    view = display(board.frame)
    return view.cells, view.bold


def board_table(board: Board, root: str) -> Markup:
    cells, bold = _estimates(board)
    title = DATASET_TITLES.get(board.dataset, board.dataset)
    records, classes = [], []
    for row in board.rows:
        name = row.label + (f" {DAGGER}" if row.smoke else "")
        record: dict[str, Any] = {"Method": _link(root + row_page(board, row), name), "Source": row.source}
        css = {column: f"src-{row.source}" + (" smoke" if row.smoke else "") + (" earlier" if row.earlier_recipe else "")
               + (" text" if column in TEXT_COLUMNS else "")
               + (" num" if column in UNBROKEN_COLUMNS else "") for column in BOARD_COLUMNS}
        for metric in METRICS:
            column = metric.capitalize()
            if row.source == PAPER:
                record[column] = _number(row.values[metric].mean)
            else:
                record[column] = _two_lines(cells.loc[name, (title, metric)])
                css[column] += " best" if bold.loc[name, (title, metric)] else ""
            css[column] += " num"
        within = row.within("total")
        record |= {"n": row.n or MISSING, "Checkpoint": row.checkpoint,
                   "Published total": _number(row.published.get("total", float("nan"))),
                   "Gap": _number(row.gap("total"), f"+.{DECIMALS}f"),
                   "In 95% interval": MISSING if within is None else ("yes" if within else "no"),
                   "Recipe card": _card_links(row.cards, root),
                   "Config": _lines(run_config_id(run) for run in row.runs),
                   "Code": _code(row)}
        css["In 95% interval"] += " outside" if within is False else ""
        records.append(record)
        classes.append(css)
    shown = [column for column in BOARD_COLUMNS if any(record[column] != MISSING for record in records)]
    return _styled(_frame(records, shown), f"board-{board.key}", _frame(classes, shown))


def _two_lines(estimate: str) -> Markup:
    """``mean ± std [low, high]`` with the interval on a second, quieter line."""
    value, _, interval = estimate.partition(" [")
    if not interval:
        return Markup("{}").format(value)
    return Markup('{}<br><span class="ci">[{}</span>').format(value, interval)


def _code(row: Row) -> Markup | str:
    if row.source == SUBMISSION:
        url = str(row.metadata.get("code") or "")
        return _link(url, url) if url.startswith(("https://", "http://")) else (url or MISSING)
    if row.source == PAPER:
        return _short_repository(row.cards[0].repository) if row.cards else MISSING
    return _lines(run_code(run) for run in row.runs)


def _lines(values: Iterable[str]) -> Markup | str:
    """Distinct values one per line, each unbroken: a row whose runs differ in code or config stays narrow."""
    distinct = dict.fromkeys(values)
    return Markup("<br>").join(Markup('<span class="unbroken">{}</span>').format(v) for v in distinct) or MISSING


def _short_repository(repository: str | None) -> str:
    """``owner/name@<40 hex>`` -> ``owner/name@1a2b3c4``."""
    if not repository:
        return MISSING
    name, _, commit = repository.partition("@")
    return f"{name}@{commit[:7]}" if commit else name


def _numbers_table(board: Board, row: Row) -> Markup:
    records = []
    for metric in METRICS:
        value = row.values[metric]
        record = {"Metric": metric, "Mean": _number(value.mean), "Std over seeds": _number(value.std),
                  "95% interval": MISSING if np.isnan(value.low) else f"[{_number(value.low)}, {_number(value.high)}]"}
        if row.source != PAPER:
            within = row.within(metric)
            record |= {"Published": _number(row.published.get(metric, float("nan"))),
                       "Gap (ours − published)": _number(row.gap(metric), f"+.{DECIMALS}f"),
                       "Published in interval": MISSING if within is None else ("yes" if within else "no")}
        records.append(record)
    return _styled(_frame(records), f"numbers-{row.slug}", sortable=False)


def weights_text(metrics: dict[str, Any]) -> str:
    """The weight files a run loaded: by digest where it recorded one, else by the file name it recorded."""
    weights = metrics.get("weights")
    if isinstance(weights, dict) and weights:
        return "; ".join(f"{part}: {w.get('source', '?')}" + (f" {w['file']}" if w.get("file") else "")
                         + (f" sha256 {w['sha256'][:12]}…" if w.get("sha256") else "")
                         for part, w in weights.items())
    legacy = metrics.get("provenance") or {}
    return "; ".join(f"{part}: {Path(str(text).split(': ', 1)[-1]).name} (no digest recorded)"
                     for part, text in legacy.items()) or MISSING


def _runs_table(row: Row) -> Markup:
    records = []
    for run in row.runs:
        metrics = run.metrics
        record = {"Seed": metrics["seed"], "Directory": run.path.name, "Config id": run_config_id(run),
                  "Code": run_code(run), "Weights": MISSING if is_submission(run) else weights_text(metrics)}
        record |= {metric.capitalize(): _number(metrics["map"][metric]) for metric in METRICS}
        records.append(record)
    return _styled(_frame(records), f"runs-{row.slug}")


def _classes_table(row: Row) -> Markup | None:
    if not row.runs:
        return None
    metrics = row.runs[0].metrics
    ap = np.array([[np.nan if v is None else v for v in run.metrics["per_class_ap"]] for run in row.runs], dtype=float)
    group_of = {int(c): group for group, members in (metrics.get("groups") or {}).items() for c in members}
    names = metrics.get("class_names") or [str(c) for c in range(ap.shape[1])]
    with np.errstate(all="ignore"):
        mean, std = np.nanmean(ap, axis=0), (np.nanstd(ap, axis=0, ddof=1) if len(ap) > 1 else np.full(ap.shape[1], np.nan))
    records = [{"Class": name, "Training images": freq, "Group": group_of.get(c, MISSING), "AP mean": _number(m),
                "AP std over seeds": _number(s)}
               for c, (name, freq, m, s) in enumerate(zip(names, metrics["class_freq"], mean, std))]
    return _styled(_frame(records), f"classes-{row.slug}")


def _provenance(row: Row) -> str:
    if row.source == PAPER:
        return "reported in a paper (not run here)"
    if row.source == SUBMISSION:
        return "submitted predictions, scored here with ltbench's evaluator"
    return "reproduced here: ltbench runs"


def _card_table(page: CardPage) -> Markup:
    records = []
    for verdict in page.verdicts:
        setting = verdict.setting
        records.append({
            "Setting": setting.name,
            "Paper": f"{setting.paper} ({setting.paper_source})" if setting.paper else MISSING,
            "Official code": f"{setting.code} ({setting.code_source})" if setting.code else MISSING,
            "ltbench": ltbench_values(verdict) or MISSING,
            "Verdict": verdict.status + (f": {verdict.explanation}" if verdict.explanation else ""),
        })
    classes = _frame([{column: "text" for column in record} for record in records]) if records else None
    return _styled(_frame(records), "card", classes, sortable=False)


def _cards_index_table(pages: list[CardPage], root: str) -> Markup:
    records = [{"Card": _link(root + page.path, page.card.name, "card-link"),
                "Dataset": DATASET_TITLES.get(page.card.dataset, page.card.dataset),
                "Published rows": ", ".join(f"{table}: {label}" for table, label in page.card.rows),
                "Basis": page.card.basis, "Checkpoint": page.checkpoint,
                "Different on purpose": sum(1 for v in page.verdicts if v.setting.differs),
                "Official code": page.card.repository or MISSING} for page in pages]
    return _styled(_frame(records), "cards")


def _pages(boards: list[Board], card_pages: list[CardPage], figures: dict[str, list]) -> list[Page]:
    pages = []
    for board in boards:
        path = board_page(board)
        root = "../" * path.count("/")
        pages.append(Page(path, "board.html.j2", {"title": board.title, "board": board, "figures": figures[board.key],
                                                  "table": board_table(board, root)}))
        for row in board.rows:
            pages.append(_row_page(board, row))
    by_dataset: dict[str, list[Board]] = {}
    for board in sorted(boards, key=lambda b: not b.collection.rows):  # datasets with runs here first
        by_dataset.setdefault(board.dataset, []).append(board)
    sections = []
    for dataset, mine in by_dataset.items():
        main = next((b for b in mine if b.suite == "table1"), mine[0])
        sections.append({"dataset": dataset, "title": DATASET_TITLES.get(dataset, dataset),
                         "main": {"board": main, "page": board_page(main), "table": board_table(main, "")},
                         "others": [{"board": b, "page": board_page(b)} for b in mine if b is not main]})
    pages.append(Page("index.html", "index.html.j2", {"title": "Results", "sections": sections,
                                                      "smoke": any(r.smoke for b in boards for r in b.rows)}))
    pages.append(Page("boards.html", "boards.html.j2", {"title": "All boards", "boards": [
        {"board": b, "page": board_page(b)} for b in boards]}))
    for card in card_pages:
        pages.append(Page(card.path, "card.html.j2", {"title": card.card.name, "page": card, "table": _card_table(card)}))
    pages.append(Page("cards/index.html", "cards_index.html.j2",
                      {"title": "Recipe cards", "table": _cards_index_table(card_pages, "../")}))
    pages.append(Page("about.html", "about.html.j2", {"title": "How numbers are made", "resamples": RESAMPLES}))
    return pages


def _row_page(board: Board, row: Row) -> Page:
    path = row_page(board, row)
    root = "../" * path.count("/")
    metadata = [(key, value) for key, value in row.metadata.items() if key not in ("method", "checkpoint", "ltbench")]
    context = {
        "title": row.label, "board": board, "row": row, "board_page": root + board_page(board),
        "provenance": _provenance(row), "numbers": _numbers_table(board, row),
        "config_ids": list(dict.fromkeys(run_config_id(run) for run in row.runs)),
        "codes": list(dict.fromkeys(run_code(run) for run in row.runs)) if row.source != PAPER else [],
        "metadata": metadata,
        "cards": [{"name": card.name, "href": root + card_path(card)} for card in row.cards],
        "runs": _runs_table(row) if row.runs else None, "classes": _classes_table(row),
        "config": dump_yaml(row.runs[0].config) if row.runs else "",
    }
    return Page(path, "row.html.j2", context)


def _environment() -> Environment:
    return Environment(loader=PackageLoader("ltbench.leaderboard", "templates"),
                       autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)


def _prepare(out: Path) -> Path:
    """A fresh temporary folder beside ``out``; ``out`` must be absent, empty or an earlier site."""
    if out.exists() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise LtbenchError(f"{out} holds files that are not an ltbench leaderboard; pass an empty or new folder.")
    staging = out.parent / f".{out.name}.building"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "figures").mkdir(parents=True)
    return staging


def write_site(boards: list[Board], cards: list[Card], out: str | Path, plan: BuildPlan | None = None) -> list[Path]:
    """Render every page and figure into ``out`` (replacing an earlier site there); return the pages written.

    ``plan``: a parallel build's (figures drawn by worker processes, card configs resolved by one); default serial."""
    from ltbench.provenance import code_version

    out = Path(out)
    staging = _prepare(out)
    try:
        plan = plan or BuildPlan(serial=True)
        drawn = plan.draw_figures(boards, staging / "figures")
        card_pages = [card_page(card, plan.keep) for card in cards]
        figures = drawn()
        env = _environment()
        code = code_version()
        code_text = code["version"] + (f" @ {code['commit'][:12]}" if code.get("commit") else "")
        written = []
        for page in _pages(boards, card_pages, figures):
            html = env.get_template(page.template).render(root=page.root, code=code_text, **page.context)
            write_text(staging / page.path, html)
            written.append(out / page.path)
        write_text(staging / MARKER, "written by ltbench leaderboard; the whole folder is replaced on the next build\n")
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written
