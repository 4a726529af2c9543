"""Asymmetric loss (ASL) for multi-label classification."""

from __future__ import annotations

import torch
from torch import nn

from ltbench.data.base import ClassStats
from ltbench.losses.common import float_inputs
from ltbench.registry import LOSSES


@LOSSES.register("asl")
class AsymmetricLoss(nn.Module):
    """ASL: asymmetric focusing and probability shifting, mean over all B x C entries.

    Ridnik et al. (ICCV 2021). With p = sigmoid(z) and p_m = max(p - clip, 0):
    positives -(1 - p)^gamma_pos log(max(p, eps)), negatives
    -p_m^gamma_neg log(max(1 - p_m, eps)); the focusing factor carries no
    gradient, as in the official code. Reduction: the official code sums over
    batch and classes, CPRFL's code averages; we average, so a learning rate
    tuned for the summed loss must be multiplied by B x C. ``stats`` is unused.
    """

    def __init__(
        self, stats: ClassStats, gamma_neg: float = 4.0, gamma_pos: float = 0.0, clip: float = 0.05,
        eps: float = 1e-8, loss_weight: float = 1.0,
    ) -> None:
        super().__init__()
        self.gamma_neg, self.gamma_pos, self.clip, self.eps = gamma_neg, gamma_pos, clip, eps
        self.loss_weight = loss_weight

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits, targets = float_inputs(logits, targets)
        p = torch.sigmoid(logits)
        p_shifted = (p - self.clip).clamp_min(0)
        log_likelihood = targets * torch.log(p.clamp_min(self.eps)) + (1 - targets) * torch.log(
            (1 - p_shifted).clamp_min(self.eps)
        )
        with torch.no_grad():
            one_minus_pt = targets * (1 - p) + (1 - targets) * p_shifted
            gamma = targets * self.gamma_pos + (1 - targets) * self.gamma_neg
            focus = one_minus_pt.pow(gamma)
        return -self.loss_weight * (focus * log_likelihood).mean()
