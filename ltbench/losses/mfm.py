"""MFM, the multi-focal modifier loss of COMIC (Zhang et al., ICCV 2023): frequency- and co-occurrence-aware ASL."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ltbench.data.base import ClassStats
from ltbench.errors import LtbenchError, check_choice
from ltbench.losses.common import class_counts, class_tensor, float_inputs
from ltbench.registry import LOSSES

REDUCTIONS = ("mean", "sum")  # mean: ltbench's (as its ASL); sum: COMIC's code


def frequency_weights(stats: ClassStats) -> np.ndarray:
    """w_c = (1 - log(n_c / n_max)) ** (1/3): 1 for the most frequent class, larger towards the tail."""
    positives, _ = class_counts(stats)
    return (1.0 - np.log(positives / positives.max())) ** (1.0 / 3.0)


def column_normalised(counts: np.ndarray) -> np.ndarray:
    """Co-occurrence counts with each column divided by its sum; a class that co-occurs with none keeps zeros."""
    counts = np.asarray(counts, dtype=np.float64)
    sums = counts.sum(axis=0, keepdims=True)
    return np.divide(counts, sums, out=np.zeros_like(counts), where=sums > 0)


@LOSSES.register("mfm")
class MultiFocalModifierLoss(nn.Module):
    """MFM (COMIC, ICCV 2023): ASL focusing with class-frequency weights and a co-occurrence modifier; mean.

    With p = sigmoid(z), class weights w_c from the training frequencies
    (``frequency_weights``) and, per image, a = the mean over its positive
    classes of the column-normalised training co-occurrence rows, normalised to
    sum 1: the positive probability is p * (1 - a_c); the negative one is
    min(1 - p + clip, 1), times ``negative_scale`` (capped at 1) where a_c > 0.
    Each entry is w_c * log(probability) * (1 - probability) ** gamma with
    gamma = gamma_pos on positives and gamma_neg + w_c on negatives (the factor
    carries no gradient, COMIC's disable_torch_grad_focal_loss). Read from
    wannature/COMIC @ 1de14e5 loss/PriorFocalModifierLoss.py:6-88; gamma_neg 3,
    gamma_pos 0, clip 0.05 from config/voc/voc_resnet50_mlt.yaml:5; the 1.2 is
    the class default (:7). The code sums; ltbench averages over the B x C
    entries (as its ASL); ``reduction="sum"`` gives the code's sum. An image without positives, or whose
    positives co-occur with nothing, gets a = 0 (the code divides 0 by 0).
    Statistics come from ``stats`` (the training split).
    """

    def __init__(self, stats: ClassStats, gamma_neg: float = 3.0, gamma_pos: float = 0.0, clip: float = 0.05,
                 negative_scale: float = 1.2, eps: float = 1e-8, loss_weight: float = 1.0,
                 reduction: str = "mean") -> None:
        super().__init__()
        check_choice("loss.reduction", reduction, REDUCTIONS)
        if stats.cooccurrence is None:
            raise LtbenchError("The mfm loss needs the training split's label co-occurrence (ClassStats.cooccurrence).")
        self.gamma_neg, self.gamma_pos, self.clip = gamma_neg, gamma_pos, clip
        self.negative_scale, self.eps, self.loss_weight = negative_scale, eps, loss_weight
        self.reduction = reduction
        self.register_buffer("weights", class_tensor(frequency_weights(stats)), persistent=False)
        self.register_buffer("cooccurrence", class_tensor(column_normalised(stats.cooccurrence)), persistent=False)

    def attention(self, targets: torch.Tensor) -> torch.Tensor:
        """Per image, the mean co-occurrence row of its positive classes, normalised to sum 1 (0 where undefined)."""
        positives = targets.sum(dim=1, keepdim=True)
        rows = targets @ self.cooccurrence / positives.clamp_min(1)
        sums = rows.sum(dim=1, keepdim=True)
        return torch.where(sums > 0, rows / sums.clamp_min(torch.finfo(rows.dtype).tiny), torch.zeros_like(rows))

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits, targets = float_inputs(logits, targets)
        attention = self.attention(targets)
        p = torch.sigmoid(logits)
        p_positive = p * (1 - attention)
        p_negative = (1 - p + self.clip).clamp(max=1) if self.clip > 0 else 1 - p
        p_negative = torch.where(attention > 0, (p_negative * self.negative_scale).clamp(max=1), p_negative)
        log_likelihood = self.weights * (targets * torch.log(p_positive.clamp_min(self.eps))
                                         + (1 - targets) * torch.log(p_negative.clamp_min(self.eps)))
        with torch.no_grad():
            p_true = targets * p_positive + (1 - targets) * p_negative
            gamma = targets * self.gamma_pos + (1 - targets) * (self.gamma_neg + self.weights)
            focus = (1 - p_true).pow(gamma)
        terms = focus * log_likelihood
        return -self.loss_weight * (terms.sum() if self.reduction == "sum" else terms.mean())
