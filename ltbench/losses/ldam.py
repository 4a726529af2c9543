"""LDAM with deferred re-weighting (Cao et al., NeurIPS 2019), applied per class as a binary problem."""

from __future__ import annotations

import numpy as np
import torch

from ltbench.data.base import ClassStats
from ltbench.errors import LtbenchError
from ltbench.losses.common import class_counts, class_tensor, effective_number_weights, float_inputs
from ltbench.losses.resample import ResampleLoss
from ltbench.registry import LOSSES


def ldam_margins(stats: ClassStats, max_m: float) -> np.ndarray:
    """Margins Delta_i = C / n_i^(1/4) with C chosen so that the rarest class gets ``max_m`` (n_i clamped to >= 1)."""
    pos, _ = class_counts(stats)
    margins = pos**-0.25
    return margins * (max_m / margins.max())


def drw_weights(stats: ClassStats, beta: float) -> np.ndarray:
    """DRW's class weights: effective-number weights scaled to sum to the number of classes, as in LDAM's code."""
    weights = effective_number_weights(stats, beta)
    return weights / weights.sum() * len(weights)


@LOSSES.register("ldam")
class LDAMLoss(ResampleLoss):
    """LDAM: BCE on s * (z - Delta_i * y), margins only on positive logits; DRW weights once switched on.

    Cao et al. (NeurIPS 2019) subtract the margin from the true class's logit
    before a softmax; no public multi-label form is followed here, the paper's
    formula is applied to each class as its own binary problem: class i's
    positive logit loses Delta_i, its negative logit is left alone, then all
    are scaled by ``s`` and enter mean BCE. Deferred re-weighting (DRW) is off
    until ``reweight(True)``: then entry (k, i), positive or negative, gets
    the class-balanced weight of class i (``drw_beta``, normalised to sum to C
    as in the LDAM code). The method switches it at the configured epoch.
    """

    def __init__(
        self, stats: ClassStats, max_m: float = 0.5, s: float = 30.0, drw_beta: float = 0.9999,
        loss_weight: float = 1.0,
    ) -> None:
        if max_m <= 0 or s <= 0:
            raise LtbenchError(f"ldam needs max_m > 0 and s > 0, not max_m={max_m}, s={s}.")
        if not 0.0 <= drw_beta < 1.0:
            raise LtbenchError(f"ldam drw_beta must be in [0, 1), not {drw_beta}.")
        super().__init__(loss_weight)
        self.s = s
        self.register_buffer("margins", class_tensor(ldam_margins(stats, max_m)), persistent=False)
        self.register_buffer("drw_class_weight", class_tensor(drw_weights(stats, drw_beta)), persistent=False)
        self.reweighting = False

    def reweight(self, active: bool) -> None:
        """Switch deferred re-weighting on or off (called by the method's epoch hook)."""
        self.reweighting = active

    def weights(self, targets: torch.Tensor) -> torch.Tensor | None:
        return self.drw_class_weight if self.reweighting else None

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits, targets = float_inputs(logits, targets)
        return super().forward(self.s * (logits - self.margins * targets), targets)
