"""Score an accepted submission with the shared evaluator and intervals, and keep it beside the runs.

An accepted file becomes a run-like directory ``<results>/submissions/<dataset>/<method>_s<seed>_<hash>/``
(config.yaml, metrics.json, scores.npz in the split's order, replicates.npz, and the file itself
as submission.npz), so tables, ``compare`` and the leaderboard read it as they
read a run: seeds of one method with the same metadata form one row. Nothing is
written before every check has passed.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ltbench.evaluation import classes_without_test_positives, evaluate
from ltbench.fileio.atomic import digest
from ltbench.metrics import evaluate_metrics
from ltbench.metrics.scored import Scored as MetricScores
from ltbench.paths import results_root
from ltbench.provenance import code_version
from ltbench.reports.reference import METRICS
from ltbench.reports.run_replicates import run_end_replicates
from ltbench.runs.run_dir import FINISHED, RunDir, config_id
from ltbench.submissions.format import Submission, read_submission
from ltbench.submissions.match import check_dataset, scores_in_split_order
from ltbench.submissions.split import EvalSplit, load_eval_split

SUBMISSIONS_FOLDER = "submissions"
SUBMITTED_FILE = "submission.npz"
SOURCE = "submission"  # metrics.json ``source`` of a submission's directory (runs have none)


@dataclass(frozen=True)
class Scored:
    """A checked submission's metrics (the evaluator's output) and 95% interval per metric."""

    submission: Submission
    split: EvalSplit
    scores: np.ndarray  # in the split's image order
    metrics: dict[str, Any]  # ``evaluation.evaluate``'s output
    intervals: dict[str, tuple[float, float]]


def submissions_root() -> Path:
    return results_root() / SUBMISSIONS_FOLDER


def score_file(path: str | Path, dataset: str) -> Scored:
    """Check ``path`` against ``dataset``'s test split and score it; ``LtbenchError`` on any mismatch."""
    from ltbench.reports.bootstrap import RunSample, bootstrap_runs

    submission = read_submission(path)
    check_dataset(submission, dataset, str(path))
    split = load_eval_split(dataset, test_images=submission.test_images)
    scores = scores_in_split_order(submission, split, str(path))
    metrics = evaluate(scores, split.targets, split.groups)
    sample = RunSample(np.asarray(scores, dtype=np.float32), split.targets, split.groups, submission.score)
    replicates = bootstrap_runs({Path(path): sample})
    low, high = replicates.low[Path(path)], replicates.high[Path(path)]
    intervals = {metric: (float(low[i]), float(high[i])) for i, metric in enumerate(METRICS)}
    return Scored(submission, split, scores, metrics, intervals)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "submission"


def record_submission(scored: Scored, source_file: str | Path, root: Path | None = None) -> Path:
    """Write the scored submission's run-like directory (metrics.json last, marking it finished); return it."""
    submission, split = scored.submission, scored.split
    meta = submission.metadata
    config = {"seed": submission.seed, "label": meta["method"], "dataset": split.dataset_config,
              "method": {"name": meta["method"]},
              SOURCE: {key: meta.get(key) for key in ("paper", "code", "checkpoint")}}
    key = digest([np.ascontiguousarray(scored.scores).tobytes().hex(), meta], length=10)
    run_dir = (root or submissions_root()) / split.dataset / f"{_slug(meta['method'])}_s{submission.seed}_{key}"
    rundir = RunDir(run_dir)
    rundir.start(config)
    shutil.copyfile(source_file, run_dir / SUBMITTED_FILE)
    metrics = {
        "status": FINISHED, "source": SOURCE, "method": meta["method"], "dataset": split.dataset,
        "label": meta["method"], "seed": submission.seed, "config_hash": key, "config_id": config_id(config),
        "map": {metric: scored.metrics[metric] for metric in METRICS},
        "per_class_ap": scored.metrics["per_class_ap"],
        "metrics": evaluate_metrics(MetricScores(scored.scores, split.targets, split.groups, submission.score)),
        "classes_without_test_positives": classes_without_test_positives(split.targets, split.class_names),
        "class_names": split.class_names, "class_freq": split.class_freq, "groups": split.groups,
        "num_train": split.num_train, "num_test": len(split.image_ids), "selection": meta["checkpoint"],
        "split_digest": split.digest, "submission": meta, "smoke": False, "code": code_version(),  # the ltbench that scored it
    }
    rundir.write_results(metrics, scored.scores, split.targets, submission.score,
                         run_end_replicates(scored.scores, split.targets, submission.score, metrics))
    return run_dir

