"""The bootstrap replicates of every row of a collection, paired per test set (``bootstrap``, ``uncertainty``).

All runs that share a test set are resampled on the same resamples, so any two
rows of a dataset can be compared pairwise; each run's replicates are read from its
directory (written when it finished, ``run_replicates``) or, for runs without
them, computed and cached (``<cache>/bootstrap/``), keyed by its scores, so a
second view costs nothing. A run without readable test scores leaves its row
without an interval, noted as a problem, never as an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Hashable, TypeVar

import numpy as np

from ltbench.errors import LtbenchError
from ltbench.fileio.atomic import atomic_write
from ltbench.metrics import DEFAULT
from ltbench.metrics.recorded import recorded_values
from ltbench.paths import cache_root
from ltbench.reports.bootstrap import RunSample, bootstrap_runs, read_sample, replicates_key, test_set_key
from ltbench.reports.collect import Collection, RowKey
from ltbench.reports.run_replicates import stored_replicates
from ltbench.reports.uncertainty import RowSample
from ltbench.runs.run_dir import RunRecord

Key = TypeVar("Key", bound=Hashable)


def _cached_replicates(group: dict[Path, RunSample], metric: str = DEFAULT) -> dict[Path, np.ndarray]:
    """Each run's replicates: those its directory stores (``run_replicates``), else computed once per (scores, test
    set, resamples) and kept in the cache folder.

    A run's replicates do not depend on which other runs share the bootstrap call
    (the resamples are fixed by the seed), so stored, cached and new runs stay
    paired; an unwritable cache only costs the recomputation.
    """
    found = {path: values for path, sample in group.items()
             if (values := stored_replicates(path, sample, metric)) is not None}
    files = {path: cache_root() / "bootstrap" / f"{replicates_key(sample, metric)}.npy"
             for path, sample in group.items() if path not in found}
    found |= {path: np.load(file) for path, file in files.items() if file.is_file()}
    missing = {path: sample for path, sample in group.items() if path not in found}
    if missing:
        for path, values in bootstrap_runs(missing, metric=metric).values.items():
            found[path] = values
            try:
                atomic_write(files[path], lambda handle, values=values: np.save(handle, values))
            except OSError:
                pass
    return found


def _name(key: Hashable) -> str:
    return " / ".join(map(str, key)) if isinstance(key, tuple) else str(key)


def row_samples(collection: Collection, metric: str = DEFAULT) -> dict[RowKey, RowSample]:
    """(dataset, label) -> the row's seeds, point values and replicates; rows that cannot be resampled are left out."""
    return samples_of_rows(collection.rows, collection.problems, metric)


def samples_of_rows(rows: dict[Key, list[RunRecord]], problems: list[str],
                    metric: str = DEFAULT) -> dict[Key, RowSample]:
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
        replicates.update(_cached_replicates(group, metric))
    out = {}
    for key, runs in readable.items():
        if len({test_set_key(samples[run.path].targets) for run in runs}) > 1:
            problems.append(f"{_name(key)}: its runs were tested on different test sets; no interval")
            continue
        points = np.array([recorded_values(run, metric) for run in runs], dtype=float)
        out[key] = RowSample(tuple(run.metrics["seed"] for run in runs), points,
                             np.stack([replicates[run.path] for run in runs]), test_set_key(samples[runs[0].path].targets))
    return out

