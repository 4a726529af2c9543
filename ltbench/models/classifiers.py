"""Classifier layers of the decoupling and LDAM methods, drop-in replacements for ``nn.Linear``."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class TauNormLinear(nn.Linear):
    """A linear classifier trained as usual and evaluated with weights w_i / ||w_i||^tau (Kang et al., ICLR 2020).

    tau-normalisation is post-hoc: in training mode the layer is plain
    ``nn.Linear``; in eval mode each class's weight vector is divided by its L2
    norm to the power ``tau`` (tau 0: the plain classifier; tau 1: unit
    norms). The bias is kept, so tau 0 is exactly the plain layer.
    """

    def __init__(self, in_features: int, out_features: int, tau: float = 1.0) -> None:
        super().__init__(in_features, out_features)
        self.tau = tau

    def normalised_weight(self) -> torch.Tensor:
        return self.weight / self.weight.norm(dim=1, keepdim=True).pow(self.tau)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        weight = self.weight if self.training else self.normalised_weight()
        return F.linear(inputs, weight, self.bias)


class CosineLinear(nn.Module):
    """Cosine similarity of the L2-normalised input and class weights, no bias: LDAM code's ``NormedLinear``."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        # the LDAM code's init: U(-1, 1) rows rescaled to unit norm (``renorm_(2, 1, 1e-5).mul_(1e5)``)
        self.weight = nn.Parameter(F.normalize(torch.empty(out_features, in_features).uniform_(-1, 1), dim=1))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.linear(F.normalize(inputs, dim=1), F.normalize(self.weight, dim=1))
