"""Pooled classification heads of the baseline methods."""

from __future__ import annotations

import torch
from torch import nn

from ltbench.errors import check_choice

HEADS = ("linear", "db_neck")


class PooledHead(nn.Module):
    """Global average pool, optional neck, linear classifier.

    ``db_neck`` is the DB repository's baseline: Linear(D, 256) -> BatchNorm1d ->
    Dropout(0.5) -> Linear(256, C), initialised as its code does: the neck Linear
    kaiming-normal (fan_out) with zero bias (``mllt/models/necks/pfc.py:27-31``),
    the classifier N(0, 0.01) with zero bias (``heads/cls_head.py:33-35``).
    """

    def __init__(self, in_channels: int, num_classes: int, kind: str = "linear",
                 neck_dim: int = 256, dropout: float = 0.5) -> None:
        super().__init__()
        check_choice("method.head", kind, HEADS)
        if kind == "db_neck":
            self.neck: nn.Module = nn.Sequential(
                nn.Linear(in_channels, neck_dim), nn.BatchNorm1d(neck_dim), nn.Dropout(dropout))
            nn.init.kaiming_normal_(self.neck[0].weight, mode="fan_out")
            nn.init.zeros_(self.neck[0].bias)
            in_channels = neck_dim
        else:
            self.neck = nn.Identity()
        self.kind = kind
        self.classifier = nn.Linear(in_channels, num_classes)  # torch's default init for "linear"
        if kind == "db_neck":
            self.reset_classifier()

    def reset_classifier(self) -> None:
        """The classifier's initial weights: N(0, 0.01) and zero bias for ``db_neck``, torch's default otherwise."""
        if self.kind == "db_neck":
            nn.init.normal_(self.classifier.weight, 0.0, 0.01)
            nn.init.zeros_(self.classifier.bias)
        else:
            self.classifier.reset_parameters()

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.neck(features.float().mean(dim=(2, 3))))
