"""Worked example of a drop-in method plugin.

Any ``*.py`` file in this folder is imported by ltbench at start-up (as
``ltbench_plugins.<file name>``), so the method below is available as
``ltbench run --method poly1 --dataset mnist_lt`` without editing ltbench.
A plugin registers what it adds: here a new loss and a method that trains the
shared baseline model with it (``loss_method``), exactly as the built-in loss
methods are made.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ltbench.data.base import ClassStats
from ltbench.losses.common import float_inputs
from ltbench.methods.baseline import loss_method
from ltbench.registry import LOSSES


@LOSSES.register("poly1_bce")
class Poly1BCE(nn.Module):
    """Poly-1 BCE (Leng et al., ICLR 2022): BCE + epsilon * (1 - p_t) per entry, mean over all entries.

    The first polynomial term of BCE's Taylor expansion gets ``epsilon`` more
    weight, which keeps the gradient of confident entries from vanishing.
    ``stats`` is unused (a loss factory always receives it).
    """

    def __init__(self, stats: ClassStats, epsilon: float = 1.0, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.epsilon, self.loss_weight = epsilon, loss_weight

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits, targets = float_inputs(logits, targets)
        bce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
        one_minus_pt = -torch.expm1(-bce)  # p_t = exp(-BCE)
        return self.loss_weight * (bce + self.epsilon * one_minus_pt).mean()


loss_method("poly1", "poly1_bce", "Example plugin (methods/): the baseline model trained with Poly-1 BCE.")
