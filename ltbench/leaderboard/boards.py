"""The leaderboard's data: one board per (suite, dataset), each row a number with where it came from.

A board's ltbench rows are exactly ``ltbench table``'s rows for that suite
(``collect_runs`` over the suite's manifest, ``build_table`` with the suite's
published CSV): the same means, stds, 95% intervals and best sets, never
recomputed. The main board (``table1``) adds the recorded submissions of its
dataset as rows of their own, in the same collection, so their intervals and
best-set tests are the table's too. Every published row of the suite's CSV for
the dataset is a row of its own ("paper"); an ltbench row that reproduces one
shows the published number, the gap and whether it lies in the row's interval.
Runs that no manifest lists form an "other runs" board per dataset.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from ltbench.leaderboard import checkpoints
from ltbench.leaderboard.cache import cached_json
from ltbench.recipes.cards import Card, load_cards
from ltbench.reports.collect import Collection, collect_runs, manifest_run_dir, read_listed
from ltbench.reports.recipe_age import CurrentRecipes
from ltbench.reports.reference import (
    METRICS, REFERENCE_DATASETS, REFERENCE_DIR, PublishedRow, Reference, dataset_rank, load_reference,
)
from ltbench.reports.table import DATASET_TITLES, build_table
from ltbench.runs.run_dir import RunRecord, config_id
from ltbench.submissions.record import SOURCE as SUBMISSION_SOURCE, SUBMISSIONS_FOLDER

LTBENCH, SUBMISSION, PAPER = "ltbench", "submission", "paper"
MAIN_SUITE = "table1"  # the front page's board of each dataset; submissions are listed there
OTHER_RUNS = "other"  # runs no suite manifest lists
SUITE_TITLES = {"table1": "Table 1: methods", "table2": "Table 2: CPRFL's losses", "table3": "Table 3: CPRFL ablation",
                "prompts": "Figure 3: prompt initialisation", "sota": "CLIP-era methods", OTHER_RUNS: "Other runs"}
SUBMISSION_MARK = "(submission)"


@dataclass(frozen=True)
class Estimate:
    """One number of a row: mean and sample std over seeds and the 95% interval (NaN where not known)."""

    mean: float
    std: float = float("nan")
    low: float = float("nan")
    high: float = float("nan")

    def contains(self, value: float) -> bool | None:
        return None if np.isnan(self.low) or np.isnan(value) else bool(self.low <= value <= self.high)


@dataclass
class Row:
    """One leaderboard row: a reproduction or submission (over seeds), or a published number."""

    label: str
    source: str  # LTBENCH, SUBMISSION or PAPER
    slug: str
    values: dict[str, Estimate]
    checkpoint: str
    n: int | None = None
    seeds: str = ""
    smoke: bool = False
    earlier_recipe: bool = False  # runs of an earlier recipe than the suite row resolves to now (``recipe_age``)
    best: dict[str, bool] = field(default_factory=dict)
    published: dict[str, float] = field(default_factory=dict)  # the published row this one reproduces
    published_source: str = ""
    cards: list[Card] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)

    def gap(self, metric: str) -> float:
        return self.values[metric].mean - self.published[metric] if self.published else float("nan")

    def within(self, metric: str) -> bool | None:
        return self.values[metric].contains(self.published[metric]) if self.published else None

    @property
    def metadata(self) -> dict[str, Any]:
        """A submission's metadata block (empty for other rows)."""
        return dict(self.runs[0].metrics.get("submission") or {}) if self.source == SUBMISSION else {}


@dataclass
class Board:
    suite: str
    dataset: str
    rows: list[Row]
    collection: Collection  # the runs behind the ltbench and submission rows (figures are drawn from it)
    frame: pd.DataFrame | None  # ``build_table``'s frame of those rows
    notes: list[str]
    problems: list[str]

    @property
    def key(self) -> str:
        return f"{self.suite}-{self.dataset}"

    @property
    def title(self) -> str:
        return f"{DATASET_TITLES.get(self.dataset, self.dataset)}: {SUITE_TITLES.get(self.suite, self.suite)}"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "row"


def build_boards(root: Path, cards: list[Card] | None = None, keep: Callable[..., Any] = cached_json,
                 built: Callable[[Board], None] = lambda board: None) -> list[Board]:
    """Every board of the results root ``root`` (runs/, suites/, submissions/) and of the published CSVs;
    ``cards``: the recipe cards (default ``load_cards()``), passed by a caller that has read them; ``keep``:
    ``cached_json`` or a parallel build's (``parallel.BuildPlan.keep``); ``built``: called with each board
    as soon as it is built (a parallel build starts drawing its figures)."""
    manifests, problems = _manifests(root / "suites")
    read = read_listed(manifests.values())  # first: a parallel build resolves the recipes meanwhile
    submissions = _collect(root / SUBMISSIONS_FOLDER)
    others = _unlisted_runs(root / "runs", manifests)
    references = {path.stem: load_reference(path) for path in sorted(REFERENCE_DIR.glob("*.csv"))}
    cards_of_row = _cards_by_row(load_cards() if cards is None else cards)
    datasets = {ds for _, ds in manifests} | set(submissions.datasets) | set(others.datasets) | set(REFERENCE_DATASETS)
    suites = [MAIN_SUITE, *sorted(({s for s, _ in manifests} | set(references)) - {MAIN_SUITE})]
    recipes = CurrentRecipes(keep=lambda key, compute: keep("recipe-ids", key, compute))
    boards = []
    for dataset in sorted(datasets, key=dataset_rank):
        for suite in suites:
            collection = collect_runs(manifests=[manifests[suite, dataset]], recipes=recipes, read=read) \
                if (suite, dataset) in manifests else Collection()
            marked = set()
            if suite == MAIN_SUITE:
                collection, marked = _with_submissions(collection, submissions, dataset)
            board = _board(suite, dataset, collection, marked, references.get(suite), cards_of_row)
            if board.rows:
                boards.append(board)
                built(board)
        mine = _only(others, dataset)
        if mine.rows:  # beside Table 1's published rows, as ``ltbench table`` without --suite shows them
            boards.append(_board(OTHER_RUNS, dataset, mine, set(), references.get(MAIN_SUITE), cards_of_row,
                                 paper_rows=False))
            built(boards[-1])
    if boards:
        boards[0].problems[:0] = problems
    return boards


def _collect(root: Path) -> Collection:
    return collect_runs(root) if root.is_dir() else Collection()


def _manifests(folder: Path) -> tuple[dict[tuple[str, str], Path], list[str]]:
    """(suite, dataset) -> manifest path; an unreadable manifest is a problem, not an error."""
    found, problems = {}, []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text())
            found[str(data["suite"]), str(data["dataset"])] = path
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            problems.append(f"{path}: not a suite manifest ({type(exc).__name__})")
    return found, problems


def _unlisted_runs(runs_root: Path, manifests: dict[tuple[str, str], Path]) -> Collection:
    """The runs under ``runs_root`` that no manifest lists, grouped as ``collect_runs`` groups them (each read once)."""
    if not runs_root.is_dir():
        return Collection()
    listed = set()
    for manifest in manifests.values():
        try:
            listed |= {manifest_run_dir(manifest, entry).resolve()
                       for row in json.loads(manifest.read_text())["rows"] for entry in row["run_dirs"]}
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    return collect_runs(runs_root, exclude=listed)


def _only(collection: Collection, dataset: str) -> Collection:
    rows = {key: runs for key, runs in collection.rows.items() if key[0] == dataset}
    return Collection(rows, [label for label in collection.labels if (dataset, label) in rows],
                      [dataset] if rows else [], list(collection.problems))


def _with_submissions(collection: Collection, submissions: Collection, dataset: str) -> tuple[Collection, set[str]]:
    """The suite's rows and, after them, the dataset's submissions labelled as such."""
    rows, labels = dict(collection.rows), list(collection.labels)
    marked = set()
    for (ds, label), runs in submissions.rows.items():
        if ds == dataset:
            shown = f"{label} {SUBMISSION_MARK}"
            rows[ds, shown] = runs
            labels.append(shown)
            marked.add(shown)
    return Collection(rows, labels, [dataset] if rows else [], collection.problems + submissions.problems,
                      set(collection.earlier)), marked


def _cards_by_row(cards: list[Card]) -> dict[tuple[str, str], list[Card]]:
    """(reference table, row label) -> the cards standing for that published row, VOC-LT before COCO-LT."""
    index: dict[tuple[str, str], list[Card]] = {}
    for card in sorted(cards, key=lambda c: (dataset_rank(c.dataset), c.name)):
        for row in card.rows:
            index.setdefault(row, []).append(card)
    return index


def _board(suite: str, dataset: str, collection: Collection, submitted: set[str], reference: Reference | None,
           cards: dict[tuple[str, str], list[Card]], paper_rows: bool = True) -> Board:
    frame = build_table(collection, reference) if collection.rows else None
    rows = [_run_row(record, collection, suite, submitted, cards) for record in
            (frame.to_dict("records") if frame is not None else [])]
    published = [r for r in (reference.rows if reference and paper_rows else ()) if r.dataset == dataset]
    rows += [_paper_row(r, suite, cards) for r in published]
    for i, row in enumerate(rows):
        row.slug = f"{i:03d}-{slug(row.label)}"
    notes = list(frame.attrs["notes"]) if frame is not None else []
    return Board(suite, dataset, rows, collection, frame, notes, list(collection.problems))


def _run_row(record: dict[str, Any], collection: Collection, suite: str, submitted: set[str],
             cards: dict[tuple[str, str], list[Card]]) -> Row:
    label = record["label"]
    runs = collection.runs(record["dataset"], label)
    source = SUBMISSION if label in submitted else LTBENCH
    metrics = runs[0].metrics
    checkpoint = checkpoints.DECLARED.get((metrics.get("submission") or {}).get("checkpoint"), checkpoints.UNKNOWN) \
        if source == SUBMISSION else checkpoints.of_run(metrics.get("selection"))
    values = {m: Estimate(record[f"{m}_mean"], record[f"{m}_std"], record[f"{m}_low"], record[f"{m}_high"])
              for m in METRICS}
    published = {m: record[f"{m}_published"] for m in METRICS} if record["published_source"] else {}
    return Row(label, source, "", values, checkpoint, n=int(record["n"]), seeds=record["seeds"],
               smoke=bool(record["smoke"]), earlier_recipe=bool(record.get("earlier_recipe", False)),
               best={m: bool(record[f"{m}_best"]) for m in METRICS},
               published=published, published_source=record["published_source"],
               cards=cards.get((MAIN_SUITE if suite == OTHER_RUNS else suite, label), []) if source == LTBENCH else [],
            runs=runs)


def _paper_row(published: PublishedRow, suite: str, cards: dict[tuple[str, str], list[Card]]) -> Row:
    mine = [card for card in cards.get((suite, published.row), []) if card.dataset == published.dataset]
    checkpoint = checkpoints.of_card(mine[0]) if mine else checkpoints.UNKNOWN
    return Row(published.row, PAPER, "", {m: Estimate(published.values[m]) for m in METRICS}, checkpoint,
               published_source=published.source, cards=mine)


def run_code(run: RunRecord) -> str:
    """The code a run was made by: ``0.2.0 @ 1a2b3c4d5e6f`` (dirty), or the version alone for older runs."""
    code = run.metrics.get("code") or {}
    version = code.get("version") or (run.metrics.get("versions") or {}).get("ltbench") or "unknown"
    if code.get("commit"):
        return f"{version} @ {code['commit'][:12]}" + (" (dirty)" if code.get("dirty") else "")
    return f"{version} (no commit)"


def run_config_id(run: RunRecord) -> str:
    return run.metrics.get("config_id") or config_id(run.config)


def is_submission(run: RunRecord) -> bool:
    return run.metrics.get("source") == SUBMISSION_SOURCE
