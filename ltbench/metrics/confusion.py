"""Precision, recall and F1 from weighted per-class counts, under ML-GCN's and mmpretrain's definitions.

With decisions ``pred`` and labels ``y`` (N x C) and image weights ``w`` (N x B),
the per-class counts are TP_c = sum_i w_i pred_ic y_ic, P_c = sum_i w_i pred_ic
(predicted) and G_c = sum_i w_i y_ic (ground truth). Every statistic is a
function of these sums, so a bootstrap resample only changes ``w``: F1-type
metrics are ratios of sums, never means of per-image values, and must be
recomputed from the resampled counts, which is what this does.

ML-GCN (megvii-research/ML-GCN@5517d6f ``util.py:271-289``, ``AveragePrecisionMeter.evaluation``):
    P_c := max(P_c, 1) before anything else (``Np[Np == 0] = 1``, line 281), so a
    class predicted for no image adds 1 to OP's denominator;
    OP = sum TP / sum P, OR = sum TP / sum G, OF1 = 2 OP OR / (OP + OR);
    CP = mean_c TP_c / P_c, CR = mean_c TP_c / G_c, CF1 = 2 CP CR / (CP + CR).
    ltbench takes CP and CR over the classes with G_c > 0 (ML-GCN's CR is NaN
    when a class has no positive; mAP leaves such classes out too) and sets an
    F1 to 0 when P + R = 0 (ML-GCN's division gives NaN).
mmpretrain (open-mmlab/mmpretrain@ee7f2e8 ``mmpretrain/evaluation/metrics/single_label.py:25-60``):
    P_c = TP_c / max(P_c, 1), R_c = TP_c / max(G_c, 1), F1_c = 2 P_c R_c / max(P_c + R_c, eps);
    macro (C*) = the mean over all classes of P_c, R_c and F1_c (a class without
    positives counts with recall 0); micro (O*) = the same on the summed counts.
"""

from __future__ import annotations

import numpy as np

PRECISION, RECALL, F1 = "precision", "recall", "f1"


def class_counts(pred: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, ...]:
    """(TP, P, G), each C x B, from N x C decisions and labels and N x B weights."""
    weights = np.asarray(weights, dtype=np.float64)
    pred_f, pos_f = pred.astype(np.float64), positive.astype(np.float64)
    return (pred_f * pos_f).T @ weights, pred_f.T @ weights, pos_f.T @ weights


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _f1(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    total = precision + recall
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, 2 * precision * recall / np.where(total > 0, total, 1.0),
                        np.where(np.isnan(total), np.nan, 0.0))


def _nanmean(values: np.ndarray) -> np.ndarray:
    """Column means over rows, NaN rows left out; NaN where a column has none."""
    valid = ~np.isnan(values)
    count = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, np.where(valid, values, 0.0).sum(axis=0) / np.maximum(count, 1), np.nan)


def mlgcn(tp: np.ndarray, predicted: np.ndarray, truth: np.ndarray, per_class: bool, stat: str) -> np.ndarray:
    """ML-GCN's CP/CR/CF1 (``per_class``) or OP/OR/OF1 over the rows given (C x B counts -> B)."""
    predicted = np.maximum(predicted, 1.0)
    if per_class:
        has_positive = truth > 0
        precision = _nanmean(np.where(has_positive, tp / predicted, np.nan))
        recall = _nanmean(_ratio(tp, truth))
    else:
        precision = _ratio(tp.sum(axis=0), predicted.sum(axis=0))
        recall = _ratio(tp.sum(axis=0), truth.sum(axis=0))
    return {PRECISION: precision, RECALL: recall, F1: _f1(precision, recall)}[stat]


def mmpretrain(tp: np.ndarray, predicted: np.ndarray, truth: np.ndarray, per_class: bool, stat: str) -> np.ndarray:
    """mmpretrain's macro (``per_class``) or micro precision/recall/F1 over the rows given (C x B -> B)."""
    if not per_class:
        tp, predicted, truth = (x.sum(axis=0, keepdims=True) for x in (tp, predicted, truth))
    if not tp.shape[0]:
        return np.full(tp.shape[1], np.nan)
    precision = tp / np.maximum(predicted, 1.0)
    recall = tp / np.maximum(truth, 1.0)
    f1 = 2 * precision * recall / np.maximum(precision + recall, np.finfo(np.float32).eps)
    return {PRECISION: precision, RECALL: recall, F1: f1}[stat].mean(axis=0)


DEFINITIONS = {"mlgcn": mlgcn, "mmpretrain": mmpretrain}
