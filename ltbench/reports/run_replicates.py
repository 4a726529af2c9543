"""The bootstrap replicates a run leaves in its directory when it finishes, so views never resample a finished run.

Every run-end writer (``RunDir.write_results``: trained runs, scored
submissions) stores mAP's replicates, the default metric's, made here, in
``replicates.npz`` (docs/file-formats.md). This module and ``bootstrap`` sit in
the parts layer, beside the evaluator, so the experiment can make them. The other
metrics cost one to two orders of magnitude more per run, so they are left to
the first view that asks for them, which caches them as before (``evidence``).
Each entry is stored with its ``bootstrap.replicates_key``; a reader recomputes
that key from the run's scores.npz and metrics.json and takes the entry only when
the two are equal, so replicates made by another resampling scheme, from other
scores or other class groups are stale: never used, recomputed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ltbench.metrics import DEFAULT
from ltbench.reports.bootstrap import RESAMPLES, RunSample, bootstrap_runs, replicates_key, sample_of
from ltbench.metrics.scored import REPORTED
from ltbench.runs.run_dir import RunDir

WRITTEN_METRICS = (DEFAULT,)  # what a finishing run stores


def run_end_replicates(scores: np.ndarray, targets: np.ndarray, score: str,
                       metrics: dict[str, Any]) -> dict[str, tuple[str, np.ndarray]]:
    """metric -> (key, replicates ``len(REPORTED) x RESAMPLES``) of one finished run, for ``RunDir.write_replicates``."""
    sample = sample_of(scores, targets, score, metrics)
    here = Path(".")  # a run's replicates do not depend on which runs share the call, nor on its path
    return {metric: (replicates_key(sample, metric), bootstrap_runs({here: sample}, metric=metric).values[here])
            for metric in WRITTEN_METRICS}


def stored_replicates(path: Path, sample: RunSample, metric: str = DEFAULT) -> np.ndarray | None:
    """The run's stored replicates of ``metric`` if they were made from ``sample`` as today; None otherwise."""
    key, values = RunDir(path).replicates().get(metric, ("", None))
    if values is None or key != replicates_key(sample, metric) or values.shape != (len(REPORTED), RESAMPLES):
        return None
    return values
