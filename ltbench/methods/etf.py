"""The baseline model with MLC-NC's fixed simplex-ETF classifier in place of its linear one, for any loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ltbench.methods.base import MethodContext, MethodParts, SplitModel
from ltbench.models.etf import ETFClassifier
from ltbench.registry import METHODS


class PooledETFHead(nn.Module):
    """Global average pool -> Linear(D, dim) -> L2-normalise -> fixed ETF (dim x C) times a learnable scale."""

    def __init__(self, in_channels: int, num_classes: int, dim: int, train_classifier: bool) -> None:
        super().__init__()
        self.projection = nn.Linear(in_channels, dim)
        self.classifier = ETFClassifier(dim, num_classes, trainable=train_classifier)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.classifier(F.normalize(self.projection(features.float().mean(dim=(2, 3))), dim=-1))


@METHODS.register("etf", loss="bce")
def etf(ctx: MethodContext, dim: int = 256, train_classifier: bool = False) -> MethodParts:
    """ETF: pooled features, a learnable projection, a fixed simplex-ETF classifier with a learnable scale (any loss)."""
    backbone = ctx.backbone()
    head = PooledETFHead(backbone.out_channels, ctx.dataset.num_classes, dim, train_classifier)
    return MethodParts(model=SplitModel(backbone, head), loss=ctx.loss(), stages=[ctx.stage()])
