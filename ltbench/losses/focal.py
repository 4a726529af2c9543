"""Focal losses: plain focal and class-balanced (effective-number) focal."""

from __future__ import annotations

from typing import Literal

import torch

from ltbench.data.base import ClassStats
from ltbench.errors import LtbenchError, check_choice
from ltbench.losses.common import class_tensor, effective_number_weights
from ltbench.losses.resample import FOCAL_REDUCTIONS, Focal, ResampleLoss, logit_regularisation
from ltbench.registry import LOSSES


@LOSSES.register("focal")
class FocalLoss(ResampleLoss):
    """Focal: balance * (1 - p_t)^gamma * BCE, mean over all entries.

    Lin et al. (ICCV 2017), in the form of the DB repository (balance 2.0,
    gamma 2; the factor keeps its gradient). ``logit_reg=True`` adds DB's
    logit regularisation (``kappa``; ``neg_scale`` is the paper's lambda):
    CPRFL's ``--loss_function FL`` (train.py:125-142; lambda 5 on VOC-LT,
    2 on COCO-LT), which its Table 3 focal rows train with; its ResampleLoss
    takes the focal p_t from the batch-mean BCE (``focal_reduction:
    batch_mean``, src/loss_functions/dbl.py:62-63,360-369).
    """

    def __init__(self, stats: ClassStats, balance: float = 2.0, gamma: float = 2.0, loss_weight: float = 1.0,
                 logit_reg: bool = False, kappa: float = 0.05, neg_scale: float = 5.0,
                 focal_reduction: str = "element") -> None:
        check_choice("loss.focal_reduction", focal_reduction, FOCAL_REDUCTIONS)
        super().__init__(loss_weight, focal=Focal(balance, gamma, focal_reduction),
                         **logit_regularisation(stats, logit_reg, kappa, neg_scale))


@LOSSES.register("cb_focal")
class ClassBalancedFocalLoss(ResampleLoss):
    """CB-Focal: focal BCE weighted by effective-number weights c_i = (1 - beta) / (1 - beta^n_i).

    Cui et al. (CVPR 2019), as in the DB repository. ``mode="average_w"``
    (default): a sample's weight is the mean c_i over its positive classes,
    applied to all its logits; a sample with no positive class gets the mean
    c_i over all classes (the DB code gives NaN there). ``mode="by_class"``:
    entry (k, i) gets c_i. ``logit_reg=True`` adds DB's logit regularisation
    (``kappa``; ``neg_scale`` is the paper's lambda), which with
    ``mode="by_class"`` and ``loss_weight=10`` is CPRFL's Table 2 variant
    (its code with ``focal_reduction: batch_mean``). n_i is clamped to >= 1.
    """

    def __init__(
        self, stats: ClassStats, beta: float = 0.9, mode: Literal["average_w", "by_class"] = "average_w",
        balance: float = 2.0, gamma: float = 2.0, logit_reg: bool = False, kappa: float = 0.05,
        neg_scale: float = 5.0, loss_weight: float = 1.0, focal_reduction: str = "element",
    ) -> None:
        check_choice("loss.focal_reduction", focal_reduction, FOCAL_REDUCTIONS)
        if mode not in ("average_w", "by_class"):
            raise LtbenchError(f"cb_focal mode must be 'average_w' or 'by_class', not {mode!r}.")
        if not 0.0 <= beta < 1.0:
            raise LtbenchError(f"cb_focal beta must be in [0, 1), not {beta}.")
        super().__init__(loss_weight, focal=Focal(balance, gamma, focal_reduction),
                         **logit_regularisation(stats, logit_reg, kappa, neg_scale))
        self.mode = mode
        self.register_buffer("class_weight", class_tensor(effective_number_weights(stats, beta)), persistent=False)

    def weights(self, targets: torch.Tensor) -> torch.Tensor:
        if self.mode == "by_class":
            return self.class_weight
        num_pos = targets.sum(dim=1, keepdim=True)
        per_sample = (targets * self.class_weight).sum(dim=1, keepdim=True) / num_pos.clamp_min(1)
        return torch.where(num_pos > 0, per_sample, self.class_weight.mean())
