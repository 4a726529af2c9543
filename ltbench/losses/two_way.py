"""The two-way multi-label loss (Kobayashi, CVPR 2023), a softmax-style loss for multi-label targets."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ltbench.data.base import ClassStats
from ltbench.losses.common import float_inputs
from ltbench.registry import LOSSES

# Added to the scaled logits left out of a smooth maximum: exp(-100) vanishes beside any included entry, and a
# set with nothing in it still has a finite maximum (about -100), so its softplus and gradients stay finite.
LEFT_OUT = -100.0


def smooth_max(values: torch.Tensor, keep: torch.Tensor, temperature: float, dim: int) -> torch.Tensor:
    """``temperature * log sum exp(values / temperature)`` over the entries ``keep`` marks, along ``dim``."""
    scaled = values / temperature + (~keep).to(values.dtype) * LEFT_OUT
    return temperature * torch.logsumexp(scaled, dim=dim)


@LOSSES.register("two_way")
class TwoWayLoss(nn.Module):
    """Two-way loss (Kobayashi, CVPR 2023): softplus(hardest negative - hardest positive), over classes and images.

    For a set of positive logits P and negative logits N, the term is
    softplus(T_n log sum_N exp(x / T_n) + T_p log sum_P exp(-x / T_p)): a smooth
    margin between the highest negative and the lowest positive. It is taken
    once per class over the batch's images (classes with a positive in the
    batch) and once per image over its classes (images with a positive); the
    loss is the mean of the first plus the mean of the second. T_p 4 and T_n 1
    are the paper's and its code's defaults (tk1980/TwoWayMultiLabelLoss @
    ef8b2d6, utils/criterion.py:6-26, utils/parser.py:36-37). ``stats`` is unused.
    """

    def __init__(self, stats: ClassStats, tp: float = 4.0, tn: float = 1.0, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.tp, self.tn, self.loss_weight = tp, tn, loss_weight

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits, targets = float_inputs(logits, targets)
        positive, negative = targets > 0, targets == 0
        total = logits.new_zeros(())
        for dim in (0, 1):  # 0: each class across the images; 1: each image across its classes
            has_positive = positive.any(dim=dim)
            margin = smooth_max(logits, negative, self.tn, dim) + smooth_max(-logits, positive, self.tp, dim)
            total = total + F.softplus(margin[has_positive]).mean() if has_positive.any() else total
        return self.loss_weight * total
