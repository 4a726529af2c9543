"""Plain multi-label losses without a focal factor: BCE, MLS and re-weighted BCE."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ltbench.data.base import ClassStats
from ltbench.losses.common import class_counts, class_tensor, float_inputs
from ltbench.losses.resample import ResampleLoss
from ltbench.registry import LOSSES


@LOSSES.register("bce")
class BCELoss(ResampleLoss):
    """BCE (ERM): mean binary cross-entropy with logits over all B x C entries.

    The ERM baseline of Wu et al. (ECCV 2020). ``stats`` is unused.
    """

    def __init__(self, stats: ClassStats, loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight)


@LOSSES.register("mls")
class MultiLabelSoftMarginLoss(nn.Module):
    """MLS: torch's ``MultiLabelSoftMarginLoss`` (mean over classes, then over the batch).

    Used in CPRFL's Table 2 (Yan et al., ACM MM 2024). With every row having C
    classes this equals mean BCE up to rounding; kept as its own name so the
    table's row is reproduced by name. ``stats`` is unused.
    """

    def __init__(self, stats: ClassStats, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits, targets = float_inputs(logits, targets)
        return self.loss_weight * F.multilabel_soft_margin_loss(logits, targets)


@LOSSES.register("rw")
class ReweightedBCELoss(ResampleLoss):
    """RW: BCE with class weight sqrt(N / n_i) on both positive and negative entries; mean.

    The smooth re-weighting baseline of Wu et al. (ECCV 2020), ``sqrt_inv`` in
    the DB code. n_i is clamped to >= 1, so an absent class gets sqrt(N).
    """

    def __init__(self, stats: ClassStats, loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight)
        pos, _ = class_counts(stats)
        self.register_buffer("class_weight", class_tensor(np.sqrt(stats.num_train / pos)), persistent=False)

    def weights(self, targets: torch.Tensor) -> torch.Tensor:
        return self.class_weight
