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


def image_ap(scores: np.ndarray, positive: np.ndarray, counted: np.ndarray | None = None) -> np.ndarray:
    """AP (0..1) of each image's ranking of its classes (N); NaN for an image without a positive.

    ``counted`` (N x C, default all) leaves ignored labels out of their image's ranking.
    """
    out = np.full(scores.shape[0], np.nan)
    counted = np.ones(scores.shape, dtype=bool) if counted is None else counted
    for start in range(0, scores.shape[0], CHUNK):
        s, y = scores[start:start + CHUNK], positive[start:start + CHUNK]
        # [i, j, k]: class k, not ignored, scores at least as high as class j
        at_or_above = (s[:, None, :] >= s[:, :, None]) & counted[start:start + CHUNK, None, :]
        ranked = at_or_above.sum(axis=2)
        hits = (at_or_above & y[:, None, :]).sum(axis=2)
        n_pos = y.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(y, hits / np.maximum(ranked, 1), 0.0)  # a positive always ranks itself
            out[start:start + CHUNK] = np.where(n_pos > 0, precision.sum(axis=1) / n_pos, np.nan)
    return out


def weighted_image_map(scored: Scored, classes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mean per-image AP over ``classes`` (B values, 0..1); NaN where no weighted image has a positive."""
    if not classes.size:
        return np.full(weights.shape[1], np.nan)
    ap = image_ap(np.asarray(scored.scores, dtype=np.float64)[:, classes], scored.positive[:, classes],
                  scored.known[:, classes])
    valid = ~np.isnan(ap)
    total = weights[valid].sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, ap[valid] @ weights[valid] / np.where(total > 0, total, 1.0), np.nan)


def class_auroc(scored: Scored, weights: np.ndarray) -> np.ndarray:
    """C x B AUROC (0..1); NaN where the weighted images of a class are all positive or all negative.

    Only the scores where a positive sits matter: each class's sorted scores are cut
    at its distinct positive scores, and one sparse product per kind sums, for every
    resample at once, the positives at each cut, the negatives tied with them and
    the negatives between two cuts (ignored labels take no part).
    """
    from scipy.sparse import csr_matrix

    weights = np.asarray(weights, dtype=np.float64)
    positive, negative = scored.positive, ~scored.positive & scored.known
    rows: dict[str, list[np.ndarray]] = {"pos": [], "tied": [], "between": []}
    columns: dict[str, list[np.ndarray]] = {"pos": [], "tied": [], "between": []}
    sizes = []
    for c in range(scored.scores.shape[1]):
        score = np.asarray(scored.scores[:, c], dtype=np.float64)
        cuts = np.unique(score[positive[:, c]])  # ascending distinct positive scores
        offset = sum(sizes)
        at = np.searchsorted(cuts, score)  # the first cut at or above each image's score
        tied = at < cuts.size
        tied[tied] = cuts[at[tied]] == score[tied]
        for kind, members in (("pos", positive[:, c]), ("tied", negative[:, c] & tied),
                              ("between", negative[:, c] & ~tied & (at < cuts.size))):
            rows[kind].append(offset + at[members])
            columns[kind].append(np.flatnonzero(members))
        sizes.append(cuts.size)
    shape = (sum(sizes), scored.scores.shape[0])
    sums = {kind: np.asarray(csr_matrix((np.ones(sum(r.size for r in rows[kind])),
                                         (np.concatenate(rows[kind]), np.concatenate(columns[kind]))),
                                        shape=shape) @ weights) for kind in rows}
    total_pos, total_neg = positive.T.astype(np.float64) @ weights, negative.T.astype(np.float64) @ weights
    out = np.full((len(sizes), weights.shape[1]), np.nan)
    start = 0
    for c, size in enumerate(sizes):
        part = slice(start, start + size)
        start += size
        below = np.cumsum(sums["between"][part] + sums["tied"][part], axis=0) - sums["tied"][part]
        pairs = total_pos[c] * total_neg[c]
        numerator = (sums["pos"][part] * (below + 0.5 * sums["tied"][part])).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[c] = np.where(pairs > 0, numerator / np.where(pairs > 0, pairs, 1.0), np.nan)
    return out
