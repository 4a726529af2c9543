"""Collected runs -> the paper's table layout: every number computed once (``reports/render.py`` formats it).

``build_table`` is a pure function that computes every number once (means,
sample stds, best per column, published values and differences); the renderers
only format, so all views of a table show the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ltbench.reports.collect import Collection
from ltbench.oracle import ORACLE_LABEL, best_test_epoch
from ltbench.reports.reference import METRICS, PublishedRow, Reference
from ltbench.runs import RunRecord

DATASET_TITLES = {"voc_lt": "VOC-LT", "coco_lt": "COCO-LT", "mnist_lt": "MNIST-LT"}
DECIMALS = 2  # shown precision; "best" is decided at this precision, so shown ties are all bold
MISSING = "–"
NOTE = "mAP (%), mean ± sample std over n seeds (one seed: the value); best per column in bold."
ORACLE_NOTE = (f"'{ORACLE_LABEL}': total mAP of the epoch with the best test mAP, as the CPRFL authors select; "
               "choosing on the test set makes it optimistic, so it is shown apart and never used as the result.")


@dataclass(frozen=True)
class Stat:
    """A metric over seeds."""

    mean: float
    std: float | None  # sample std (ddof=1); None with a single seed


@dataclass(frozen=True)
class Cell:
    """One row label on one dataset: our runs' statistics and, if matched, the published row."""

    n: int
    stats: dict[str, Stat]
    published: PublishedRow | None = None
    oracle: Stat | None = None  # test-selected total mAP (``--oracle`` only); None where no run has one

    def diff(self, metric: str) -> float | None:
        """Ours − published, in mAP points."""
        return None if self.published is None else self.stats[metric].mean - self.published.values[metric]


@dataclass(frozen=True)
class Table:
    """Rows = labels, column groups = datasets, each with total/head/medium/tail and n."""

    labels: list[str]
    datasets: list[str]
    cells: dict[tuple[str, str], Cell]  # (dataset, label)
    best: frozenset[tuple[str, str, str]]  # (dataset, label, metric) holding its column's best mean
    reference: str | None = None  # name of the published table shown beside ours
    oracle: bool = False  # show the test-selected column (ltbench/oracle.py)

    def sources(self) -> list[str]:
        """Distinct sources of the published rows shown, for a footnote."""
        found = (c.published.source for c in self.cells.values() if c.published is not None)
        return list(dict.fromkeys(found))


def summarize(runs: Sequence[RunRecord]) -> dict[str, Stat]:
    """Mean and sample std of each mAP metric over ``runs`` (one per seed)."""
    return {metric: summarize_values([run.metrics["map"][metric] for run in runs]) for metric in METRICS}


def oracle_stat(runs: Sequence[RunRecord]) -> Stat | None:
    """Mean and sample std over ``runs`` of the best per-epoch test mAP; None if a run has no test curve."""
    best = [best_test_epoch(run.history) for run in runs]
    if any(b is None for b in best):
        return None
    return summarize_values([b.test_map for b in best])


def summarize_values(values: Sequence[float]) -> Stat:
    array = np.asarray(values, dtype=float)
    return Stat(float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else None)


def build_table(collection: Collection, reference: Reference | None = None, oracle: bool = False) -> Table:
    """The table of ``collection``; published rows of ``reference`` matched by (label, dataset).

    ``oracle`` adds the test-selected column, labelled as not a valid result.
    """
    cells = {
        (dataset, label): Cell(
            len(runs), summarize(runs), reference.lookup(label, dataset) if reference else None,
            oracle_stat(runs) if oracle else None,
        )
        for (dataset, label), runs in collection.rows.items()
    }
    best = set()
    for dataset in collection.datasets:
        for metric in METRICS:
            column = {lb: round(c.stats[metric].mean, DECIMALS) for (ds, lb), c in cells.items() if ds == dataset}
            if len(column) > 1:  # a lone entry is not "best" of anything
                top = max(column.values())
                best |= {(dataset, lb, metric) for lb, value in column.items() if value == top}
    return Table(
        list(collection.labels),
        list(collection.datasets),
        cells,
        frozenset(best),
        reference.table if reference else None,
        oracle,
    )


# ---- views -------------------------------------------------------------------------------------
