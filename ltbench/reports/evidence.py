"""The bootstrap replicates of every row of a collection, paired per test set (``bootstrap``, ``uncertainty``).

All runs that share a test set are resampled in one call, so any two rows of a
dataset can be compared on the same resamples. A run without readable test
scores leaves its row without an interval, noted as a problem, never as an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Hashable, TypeVar

import numpy as np

from ltbench.errors import LtbenchError
from ltbench.reports.bootstrap import RunSample, bootstrap_runs, read_sample, test_set_key
from ltbench.reports.collect import Collection, RowKey
from ltbench.reports.reference import METRICS
from ltbench.reports.uncertainty import RowSample
from ltbench.runs import RunRecord

Key = TypeVar("Key", bound=Hashable)


def _name(key: Hashable) -> str:
    return " / ".join(map(str, key)) if isinstance(key, tuple) else str(key)


def row_samples(collection: Collection) -> dict[RowKey, RowSample]:
    """(dataset, label) -> the row's seeds, point mAPs and replicates; rows that cannot be resampled are left out."""
    return samples_of_rows(collection.rows, collection.problems)


def samples_of_rows(rows: dict[Key, list[RunRecord]], problems: list[str]) -> dict[Key, RowSample]:
    """Each row's runs resampled (all runs of one test set in one bootstrap); a row that cannot be is a problem."""
    samples: dict[Path, RunSample] = {}
    readable: dict[Key, list[RunRecord]] = {}
    for key, runs in rows.items():
        try:
            for run in runs:
                samples[run.path] = read_sample(run)
        except LtbenchError as exc:
            problems.append(f"{_name(key)}: no interval: {exc}")
            continue
        readable[key] = runs
    by_test_set: dict[str, dict[Path, RunSample]] = {}
    for path, sample in samples.items():
        by_test_set.setdefault(test_set_key(sample.targets), {})[path] = sample
    replicates: dict[Path, np.ndarray] = {}
    for group in by_test_set.values():
        replicates.update(bootstrap_runs(group).values)
    out = {}
    for key, runs in readable.items():
        if len({test_set_key(samples[run.path].targets) for run in runs}) > 1:
            problems.append(f"{_name(key)}: its runs were tested on different test sets; no interval")
            continue
        points = np.array([[run.metrics["map"][m] for m in METRICS] for run in runs], dtype=float)
        out[key] = RowSample(tuple(run.metrics["seed"] for run in runs), points,
                             np.stack([replicates[run.path] for run in runs]), test_set_key(samples[runs[0].path].targets))
    return out

