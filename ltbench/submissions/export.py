"""``ltbench export RUN --out FILE``: any finished run (or recorded submission) as a submission file.

The scores are the run's scores.npz as stored, the image ids those of the test
split its config builds now; a run whose stored labels differ from that split
is refused, so an exported file always scores to the run's own per-class AP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ltbench.errors import LtbenchError
from ltbench.reports.reference import default_label
from ltbench.runs.run_dir import RunDir, RunReadError, RunRecord
from ltbench.submissions.format import Submission, write_submission
from ltbench.submissions.record import SOURCE
from ltbench.submissions.split import load_eval_split

SELECTIONS = {"final": "last", "final-ema": "last"}  # ltbench's metrics.json ``selection`` -> format checkpoint


def export_run(run_dir: str | Path, out: str | Path) -> Path:
    """Write the finished run at ``run_dir`` to ``out`` in the submission format."""
    rundir = RunDir(run_dir)
    try:
        record = rundir.finished_record()
        scores, targets, score = rundir.scores()
    except RunReadError as exc:
        raise LtbenchError(f"{exc}; export needs a finished run directory with its scores.npz.") from None
    split = load_eval_split(record.metrics["dataset"], record.config)
    if not np.array_equal(targets, split.targets):
        raise LtbenchError(f"{rundir.path}'s stored test labels differ from the {split.dataset} test split its "
                           "config builds now, so its scores cannot be matched to image ids.")
    submission = Submission(split.dataset, split.digest, split.image_ids, split.class_names,
                            np.asarray(scores), _metadata(record) | {"score": score}, split.test_images)
    return write_submission(out, submission)


def _metadata(record: RunRecord) -> dict[str, Any]:
    metrics = record.metrics
    if metrics.get("source") == SOURCE:
        return dict(metrics["submission"])
    selection = metrics.get("selection", "final")
    if selection not in SELECTIONS:
        raise LtbenchError(f"{record.path} selected its model by {selection!r}, which the format cannot say.")
    provenance = {key: metrics[key] for key in ("config_id", "config_hash") if key in metrics}
    provenance |= {"run": record.path.name, "version": (metrics.get("versions") or {}).get("ltbench")}
    provenance |= {f"code_{key}": value for key, value in (metrics.get("code") or {}).items()}  # commit, dirty
    return {"method": metrics.get("label") or default_label(record.config), "checkpoint": SELECTIONS[selection],
            "seed": int(metrics["seed"]), "ltbench": provenance}
