"""The core of DB's ``ResampleLoss``: BCE with per-entry weights, logit regularisation and a focal factor.

Every BCE-family loss (bce, rw, focal, cb_focal, db_*) is this one computation
with different weights, so they cannot drift apart. Formulas follow the DB
repository (Wu et al., ECCV 2020); docs/losses.md writes them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ltbench.data.base import ClassStats
from ltbench.losses.common import class_counts, class_tensor, float_inputs


FOCAL_REDUCTIONS = ("element", "batch_mean")


@dataclass(frozen=True)
class Focal:
    """Focal factor ``balance * (1 - p_t)^gamma`` (Lin et al., ICCV 2017), with gradient, as in DB's code.

    ``reduction="element"``: p_t per entry (Wu et al.). ``"batch_mean"``: one
    scalar p_t = exp(-mean BCE) for the whole batch, as the DB-loss copies in
    LMPT's and HP-DVAL's code compute it (their BCE call uses reduction='mean').
    """

    balance: float
    gamma: float
    reduction: str = "element"


def db_logit_bias(stats: ClassStats, kappa: float, neg_scale: float) -> torch.Tensor:
    """DB's class bias b_i = -log(N/n_i - 1) * kappa / lambda, written as -log(neg_i/pos_i) on clamped counts.

    N/n_i - 1 = (N - n_i)/n_i exactly; clamping both counts to >= 1 keeps b_i
    finite when n_i = 0 or n_i = N (|b_i| <= log(N) * kappa / lambda).
    """
    pos, neg = class_counts(stats)
    return class_tensor(-np.log(neg / pos) * kappa / neg_scale)


def logit_regularisation(stats: ClassStats, enabled: bool, kappa: float, neg_scale: float) -> dict[str, Any]:
    """``ResampleLoss`` keywords for DB's logit regularisation (bias and lambda) on a loss that adds it optionally."""
    return {"bias": db_logit_bias(stats, kappa, neg_scale), "neg_scale": neg_scale} if enabled else {}


class ResampleLoss(nn.Module):
    """``loss_weight * mean(w * f * BCE(z + b))`` with negatives scaled by ``neg_scale``; subclasses give ``w``.

    With logit regularisation (a ``bias``), negatives become
    ``(w / lambda) * log(1 + exp(lambda * z~))``; the focal p_t is computed from
    the regularised logits without weights. Mean over all B x C entries.
    """

    def __init__(
        self, loss_weight: float, focal: Focal | None = None,
        bias: torch.Tensor | None = None, neg_scale: float = 1.0, pos_scale: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.focal = focal
        self.neg_scale = neg_scale
        self.register_buffer("bias", bias, persistent=False)
        self.register_buffer("pos_scale", pos_scale, persistent=False)  # per-class scale of positive logits

    def weights(self, targets: torch.Tensor) -> torch.Tensor | None:
        """Per-entry weights broadcastable to B x C; None means all ones."""
        return None

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits, targets = float_inputs(logits, targets)
        weight = self.weights(targets)
        if self.bias is not None:
            logits = logits + self.bias
        if self.pos_scale is not None:  # HP-DVAL's DB*: only the logit scales, no compensating weight
            logits = logits * (1 + targets * (self.pos_scale - 1))
        if self.neg_scale != 1.0:
            logits = logits * (targets + (1 - targets) * self.neg_scale)
            scale = targets + (1 - targets) / self.neg_scale
            weight = scale if weight is None else weight * scale
        bce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
        loss = bce if weight is None else weight * bce
        if self.focal is not None:
            log_pt = -(bce.mean() if self.focal.reduction == "batch_mean" else bce)
            one_minus_pt = -torch.expm1(log_pt)  # 1 - p_t, accurate when p_t is close to 1
            loss = self.focal.balance * one_minus_pt.pow(self.focal.gamma) * loss
        return self.loss_weight * loss.mean()
