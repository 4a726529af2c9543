"""Logit-adjusted loss (Menon et al., ICLR 2021) in its multi-label form: a binary prior per class."""

from __future__ import annotations

import numpy as np

from ltbench.data.base import ClassStats
from ltbench.losses.common import class_counts, class_tensor
from ltbench.losses.resample import ResampleLoss
from ltbench.registry import LOSSES


def log_prior_odds(stats: ClassStats) -> np.ndarray:
    """log(pi_i / (1 - pi_i)) with pi_i = n_i / N, on counts clamped to >= 1 (finite for n_i = 0 or N)."""
    pos, neg = class_counts(stats)
    return np.log(pos / neg)


@LOSSES.register("logit_adjusted")
class LogitAdjustedLoss(ResampleLoss):
    """BCE on z_i + tau * log(pi_i / (1 - pi_i)) during training; the model's raw logits are its test scores.

    Menon et al. add tau * log(prior) to the softmax logits of the loss only.
    In the multi-label form each class is its own binary problem whose prior
    over {absent, present} is (1 - pi_i, pi_i); the logit-adjusted binary
    softmax is then a sigmoid of z_i + tau * log(pi_i / (1 - pi_i)). Since the
    offset is part of the loss, not the model, evaluation sees prior-free scores.
    """

    def __init__(self, stats: ClassStats, tau: float = 1.0, loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight, bias=class_tensor(tau * log_prior_odds(stats)))
