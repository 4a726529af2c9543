"""A simplex equiangular tight frame (ETF) and the fixed classifier built on it (neural collapse's geometry).

C unit vectors whose pairwise cosines all equal -1/(C-1), the most separated
configuration C class means can take (Papyan et al., PNAS 2020). MLC-NC
(t1neo666/AAAI25_MLC-NC @ 1dedffa, src_files/attention/Proto_Classifiers.py:6-21)
draws one as sqrt(C/(C-1)) * U (I - 11^T / C) with U a random dim x C matrix of
orthonormal columns (QR of a uniform draw), for its label queries and its classifier.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ltbench.errors import LtbenchError


def simplex_etf(dim: int, num_classes: int) -> torch.Tensor:
    """A ``dim x num_classes`` simplex ETF (columns: unit norm, pairwise cosine -1/(C-1)), from torch's seeded RNG."""
    if num_classes < 2 or dim < num_classes:
        raise LtbenchError(f"A simplex ETF of {num_classes} classes needs at least 2 classes and dim >= classes "
                           f"(dim is {dim}).")
    basis, _ = torch.linalg.qr(torch.rand(dim, num_classes, dtype=torch.float64))
    centring = torch.eye(num_classes, dtype=torch.float64) - 1.0 / num_classes
    return (math.sqrt(num_classes / (num_classes - 1)) * basis @ centring).float()


class ETFClassifier(nn.Module):
    """logits = scale * features @ ETF: a fixed simplex-ETF classifier with one learnable scale (init 1).

    ``trainable=True`` makes the ETF a parameter that trains with the rest (what
    MLC-NC's code does, train.py:177,180), keeping the name ``weight`` either way.
    """

    def __init__(self, in_features: int, num_classes: int, trainable: bool = False) -> None:
        super().__init__()
        etf = simplex_etf(in_features, num_classes)
        if trainable:
            self.weight = nn.Parameter(etf)
        else:
            self.register_buffer("weight", etf)
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, features: torch.Tensor) -> torch.Tensor:  # B x in_features -> B x C
        return self.scale * (features @ self.weight.to(features.dtype))
