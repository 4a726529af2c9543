"""A run's metric values: from its metrics.json, else recomputed from its scores.npz (runs older than the metrics).

Old run directories stay valid: their metrics.json has ``map`` only, and every
other metric follows from the test scores they stored, as the metric's decision
rule reads them (docs/scores.md). ``record_metrics`` writes the recomputed values
into such a run's metrics.json (``ltbench eval RUN --from-scores``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ltbench.errors import LtbenchError
from ltbench.metrics import DEFAULT, evaluate_metrics, get_metric, metric_values
from ltbench.metrics.scored import REPORTED, Scored
from ltbench.runs.run_dir import RunDir, RunReadError, RunRecord

RECORD_KEY = "metrics"  # where metrics.json keeps every metric but mAP


def scored_run(path: str | Path, groups: dict[str, Any]) -> Scored:
    """The run's stored test scores with its groups; a run without readable scores is one sentence."""
    try:
        scores, targets, score = RunDir(path).scores()
    except RunReadError as exc:
        raise LtbenchError(f"{exc}; metrics other than mAP are computed from the test scores.") from None
    return Scored(scores, targets, {g: list(groups.get(g, [])) for g in REPORTED[1:]}, score)


@lru_cache(maxsize=4096)
def _from_scores(path: Path, mtime: float, name: str, groups: str) -> tuple[float, ...]:
    import json

    return tuple(metric_values(name, scored_run(path, json.loads(groups)))[:, 0])


def recorded_values(run: RunRecord, name: str) -> np.ndarray:
    """The run's total/head/medium/tail value of metric ``name`` (%), NaN where undefined or not applicable."""
    get_metric(name)
    if name == DEFAULT:
        return np.array([run.metrics["map"][g] for g in REPORTED], dtype=float)
    entry = (run.metrics.get(RECORD_KEY) or {}).get(name)
    if entry is not None:
        return np.array([np.nan if entry.get(g) is None else entry[g] for g in REPORTED], dtype=float)
    import json

    scores_file = Path(run.path) / "scores.npz"
    mtime = scores_file.stat().st_mtime if scores_file.exists() else 0.0
    return np.array(_from_scores(Path(run.path), mtime, name, json.dumps(run.metrics.get("groups") or {},
                                                                         sort_keys=True)))


def record_metrics(path: str | Path) -> dict[str, Any]:
    """Recompute every metric from a finished run's scores.npz and store them in its metrics.json."""
    rundir = RunDir(path)
    try:
        metrics = rundir.finished_record().metrics
    except RunReadError as exc:
        raise LtbenchError(f"{exc}; pass the directory of a finished run.") from None
    metrics[RECORD_KEY] = evaluate_metrics(scored_run(rundir.path, metrics.get("groups") or {}))
    rundir.write_metrics(metrics)
    return metrics
