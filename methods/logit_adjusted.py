"""Worked example of a drop-in method plugin.

Any ``*.py`` file in this folder is imported by ltbench at start-up (as
``ltbench_plugins.<file name>``), so the method below is available as
``ltbench run --method logit_adjusted --dataset mnist_lt`` without editing ltbench.
A plugin registers what it adds: here a new loss and a method that uses it on
the shared baseline model.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ltbench.data.base import ClassStats
from ltbench.methods.base import MethodContext, MethodParts
from ltbench.methods.baseline import build_baseline
from ltbench.registry import LOSSES, METHODS


@LOSSES.register("logit_adjusted_bce")
class LogitAdjustedBCE(nn.Module):
    """BCE on logits shifted by tau * log-odds of each class's training prior (Menon et al. 2021).

    Adding the prior during training only makes the model learn prior-free
    scores; at test time the raw logits are used, which favours rare classes.
    """

    def __init__(self, stats: ClassStats, tau: float = 1.0, loss_weight: float = 1.0) -> None:
        super().__init__()
        prior = np.clip(np.asarray(stats.class_freq, dtype=np.float64) / stats.num_train, 1e-4, 1 - 1e-4)
        self.register_buffer("shift", torch.as_tensor(tau * np.log(prior / (1 - prior)), dtype=torch.float32))
        self.loss_weight = loss_weight

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits = logits.float() + self.shift
        return self.loss_weight * F.binary_cross_entropy_with_logits(logits, targets.float())


@METHODS.register("logit_adjusted")
def logit_adjusted(ctx: MethodContext, head: str = "linear", neck_dim: int = 256, dropout: float = 0.5) -> MethodParts:
    """Example plugin (methods/): the baseline model trained with logit-adjusted BCE."""
    return build_baseline(ctx, "logit_adjusted_bce", head, neck_dim, dropout)
