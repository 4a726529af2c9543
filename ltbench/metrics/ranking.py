"""Ranking metrics beside mAP: per-image AP (the classes of one image ranked) and per-class AUROC.

Per-image AP of image i over a class set K, with positives Y_i in K:
    AP_i = (1 / |Y_i|) sum_{j in Y_i} |{k in Y_i : s_ik >= s_ij}| / |{k in K : s_ik >= s_ij}|,
the AP that ``evaluation.average_precision`` computes, with the classes as the
ranked items: tied classes form one threshold (scikit-learn's AP, and its
``label_ranking_average_precision_score`` for an image with a positive).
Images without a positive in K have no AP and are left out of the mean; with
weights the mean is sum_i w_i AP_i / sum_i w_i over the images that have one.

AUROC of class c: the probability that a positive image scores above a
negative one, ties counting 1/2 (scikit-learn's ``roc_auc_score``), with each
image counted ``w_i`` times. A class with only one label value (no positive or
no negative) has no AUROC and is left out of the group means.
"""

from __future__ import annotations

import numpy as np

from ltbench.metrics.scored import Scored

CHUNK = 512  # images per block: bounds the N x K x K comparison to ~26 MB for COCO-LT's 80 classes


def image_ap(scores: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """AP (0..1) of each image's ranking of its classes (N); NaN for an image without a positive."""
    out = np.full(scores.shape[0], np.nan)
    for start in range(0, scores.shape[0], CHUNK):
        s, y = scores[start:start + CHUNK], positive[start:start + CHUNK]
        at_or_above = s[:, None, :] >= s[:, :, None]  # [i, j, k]: class k scores at least as high as class j
        ranked = at_or_above.sum(axis=2)
        hits = (at_or_above & y[:, None, :]).sum(axis=2)
        n_pos = y.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start:start + CHUNK] = np.where(n_pos > 0, (y * hits / ranked).sum(axis=1) / n_pos, np.nan)
    return out


def weighted_image_map(scored: Scored, classes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mean per-image AP over ``classes`` (B values, 0..1); NaN where no weighted image has a positive."""
    if not classes.size:
        return np.full(weights.shape[1], np.nan)
    ap = image_ap(np.asarray(scored.scores, dtype=np.float64)[:, classes], scored.positive[:, classes])
    valid = ~np.isnan(ap)
    total = weights[valid].sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, ap[valid] @ weights[valid] / np.where(total > 0, total, 1.0), np.nan)


def class_auroc(scored: Scored, weights: np.ndarray) -> np.ndarray:
    """C x B AUROC (0..1); NaN where the weighted images of a class are all positive or all negative."""
    from scipy.sparse import csr_matrix

    weights = np.asarray(weights, dtype=np.float64)
    n_images, n_classes = scored.scores.shape
    out = np.full((n_classes, weights.shape[1]), np.nan)
    positive = scored.positive
    for c in range(n_classes):
        values, tie = np.unique(np.asarray(scored.scores[:, c], dtype=np.float64), return_inverse=True)  # ascending
        members = csr_matrix((np.ones(n_images), (tie.ravel(), np.arange(n_images))), shape=(values.size, n_images))
        pos = members @ (weights * positive[:, c, None])  # T x B weighted positives per tied score
        neg = members @ (weights * ~positive[:, c, None])
        below = np.cumsum(neg, axis=0) - neg  # negatives strictly below each score
        pairs = pos.sum(axis=0) * neg.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[c] = np.where(pairs > 0, (pos * (below + 0.5 * neg)).sum(axis=0) / np.where(pairs > 0, pairs, 1.0),
                              np.nan)
    return out
