"""Which labels a model predicts: the threshold rule and the two top-k rules the literature uses.

Thresholds are stated on the logit and applied to whatever the run stored
(docs/scores.md): a logit >= 0 is the same decision as sigmoid(logit) >= 0.5, so
runs that stored logits and old runs that stored float32 sigmoid scores decide
alike. A ``log_softmax`` run stores log-softmax scores over the classes of an
image; its logits are not recoverable (the softmax drops each image's
constant), and a softmax probability >= 0.5 allows at most one label per image,
so threshold rules raise ``NotApplicable`` for it. Top-k without a threshold
only ranks the classes of each image, which every score function preserves.

Ties at the k-th place are broken by class index (the lower index is taken), so
exactly k labels are chosen; ``torch.topk``, which both sources call, leaves
the order of ties unspecified.
"""

from __future__ import annotations

import numpy as np

from ltbench.metrics.scored import NotApplicable, Scored

TOP_K = 3
PROBABILITY_THRESHOLD = 0.5  # sigmoid(logit) >= 0.5  <=>  logit >= 0


def above_threshold(scored: Scored) -> np.ndarray:
    """N x C: logit >= 0 (sigmoid >= 0.5)."""
    if scored.score == "log_softmax":
        raise NotApplicable("the run stores log-softmax scores, whose logits are lost; a softmax probability >= 0.5 "
                            "allows at most one label per image, so threshold metrics are not reported")
    if scored.score == "sigmoid":  # old runs: float32 sigmoid probabilities
        return scored.scores >= PROBABILITY_THRESHOLD
    return scored.scores >= 0.0


def top_k(scored: Scored, k: int = TOP_K) -> np.ndarray:
    """N x C: the k highest-scoring classes of each image, ties broken by the lower class index."""
    k = min(k, scored.scores.shape[1])
    order = np.argsort(-np.asarray(scored.scores, dtype=np.float64), axis=1, kind="stable")[:, :k]
    chosen = np.zeros(scored.scores.shape, dtype=bool)
    np.put_along_axis(chosen, order, True, axis=1)
    return chosen


def top_k_above_threshold(scored: Scored, k: int = TOP_K) -> np.ndarray:
    """N x C: among the top k AND logit >= 0 (ML-GCN's ``overall_topk``)."""
    return top_k(scored, k) & above_threshold(scored)


DECISIONS = {
    "threshold": (above_threshold, "logit >= 0, i.e. sigmoid(logit) >= 0.5"),
    "top3_thresholded": (top_k_above_threshold, f"among the {TOP_K} highest scores of the image AND logit >= 0"),
    "top3": (top_k, f"the {TOP_K} highest scores of the image, no threshold"),
}
