"""The shared evaluator: per-class AP, mAP overall and per head/medium/tail group.

AP is the non-interpolated average precision of scikit-learn's
``average_precision_score`` (sum over distinct score thresholds of
recall increase x precision), tied scores included, computed here in NumPy so
that evaluation needs no per-class Python loop over sklearn calls.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ltbench.data.groups import GROUP_NAMES
from ltbench.data.label_values import known, positives
from ltbench.errors import LtbenchError


def average_precision(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per-class AP (0..1) of ``N x C`` scores; NaN for a class with no positive test image.

    Ignored labels (``label_values.IGNORED``) are left out of their class's ranking.
    """
    scores = np.asarray(scores, dtype=np.float64)
    counted = known(targets)
    targets = positives(targets)
    if scores.shape != targets.shape or scores.ndim != 2:
        raise ValueError(f"scores {scores.shape} and targets {targets.shape} must be equal N x C arrays")
    bad = ~np.isfinite(scores)
    if bad.any():  # a NaN ranks nowhere: its AP would be a chance-level number that means nothing
        raise LtbenchError(f"The model's test scores are NaN or infinite for {bad.any(axis=1).sum():,} of "
                           f"{len(scores):,} images in {bad.any(axis=0).sum()} of {scores.shape[1]} classes, "
                           "so no mAP is reported; the model computes non-finite logits.")
    return np.array([_binary_ap(scores[counted[:, c], c], targets[counted[:, c], c]) for c in range(scores.shape[1])])


def _binary_ap(score: np.ndarray, positive: np.ndarray) -> float:
    total_pos = positive.sum()
    if total_pos == 0:
        return float("nan")
    order = np.argsort(-score, kind="mergesort")
    score, positive = score[order], positive[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(score)), score.size - 1]  # a threshold per distinct score
    tp = np.cumsum(positive)[last_of_tie]
    precision = tp / (last_of_tie + 1)
    recall_gain = np.diff(np.r_[0, tp]) / total_pos
    return float(np.sum(recall_gain * precision))


def evaluate(
    scores: np.ndarray, targets: np.ndarray, groups: Mapping[str, np.ndarray]
) -> dict[str, object]:
    """mAP x100 over all classes and each group, plus per-class AP x100.

    Classes without a positive test image have AP NaN and are left out of the
    means; their indices are returned as ``no_test_positives`` so that a run
    says which classes its mAP does not cover.
    """
    ap = average_precision(scores, targets) * 100.0
    result: dict[str, object] = {"total": _nanmean(ap)}
    for name in GROUP_NAMES:
        idx = np.asarray(groups.get(name, []), dtype=int)
        result[name] = _nanmean(ap[idx]) if idx.size else float("nan")
    result["per_class_ap"] = [None if np.isnan(v) else float(v) for v in ap]
    result["no_test_positives"] = [int(c) for c in np.flatnonzero(np.isnan(ap))]
    return result


def classes_without_test_positives(targets: np.ndarray, class_names: Sequence[str]) -> list[str]:
    """Names of the classes no test image is positive for: their AP is undefined, every mAP leaves them out."""
    return [class_names[c] for c in np.flatnonzero(~positives(targets).any(axis=0))]


def _nanmean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


def chance_map(targets: np.ndarray) -> float:
    """Expected mAP x100 of random scores: the mean positive rate of the classes."""
    rate = positives(targets).sum(axis=0) / np.maximum(known(targets).sum(axis=0), 1)
    return float(rate[rate > 0].mean() * 100.0)
