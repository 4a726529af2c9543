"""BBN's bilateral-branch head (Zhou et al., CVPR 2020) on ltbench's backbone/head split.

In BBN the two branches share every ResNet block but the last, which each
branch has its own copy of. ltbench's backbone is the shared part (frozen and
cached in the CPU setting), so each branch here is its own small block on the
pooled feature (Linear -> BatchNorm1d -> ReLU). The two branch features are
concatenated into one linear classifier, as in BBN's code, which makes the
logits the sum of the two branches' classifiers.
"""

from __future__ import annotations

import torch
from torch import nn


def cumulative_alpha(epoch: int, total: int) -> float:
    """BBN's cumulative-learning weight of the conventional branch, 1 - ((epoch - 1) / total)^2 for 1-based epochs.

    The paper writes 1 - (T / T_max)^2 with T the current epoch; the official
    code counts T from 0, so the first epoch trains the conventional branch only.
    """
    return 1.0 - ((epoch - 1) / total) ** 2


def branch_block(in_channels: int, dim: int) -> nn.Module:
    return nn.Sequential(nn.Linear(in_channels, dim), nn.BatchNorm1d(dim), nn.ReLU(inplace=True))


class BBNHead(nn.Module):
    """Conventional and re-balancing branches over shared backbone features; one classifier over both."""

    def __init__(self, in_channels: int, num_classes: int, branch_dim: int = 256) -> None:
        super().__init__()
        self.conventional = branch_block(in_channels, branch_dim)
        self.rebalancing = branch_block(in_channels, branch_dim)
        self.classifier = nn.Linear(2 * branch_dim, num_classes)

    @staticmethod
    def pooled(features: torch.Tensor) -> torch.Tensor:
        return features.float().mean(dim=(2, 3))

    def mixed_logits(self, conventional: torch.Tensor, rebalancing: torch.Tensor, alpha: float) -> torch.Tensor:
        """Classifier of the branch features weighted 2 * alpha and 2 * (1 - alpha), as in BBN's code."""
        conv = self.conventional(self.pooled(conventional))
        reb = self.rebalancing(self.pooled(rebalancing))
        return self.classifier(torch.cat((2 * alpha * conv, 2 * (1 - alpha) * reb), dim=1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Inference: both branches see the same input, each weighted 0.5."""
        return self.mixed_logits(features, features, 0.5)


def bbn_loss(head: BBNHead, loss: nn.Module, uniform: tuple[torch.Tensor, torch.Tensor],
             reversed_: tuple[torch.Tensor, torch.Tensor], alpha: float) -> torch.Tensor:
    """alpha * loss(z, y_uniform) + (1 - alpha) * loss(z, y_reversed) on the alpha-mixed logits z."""
    logits = head.mixed_logits(uniform[0], reversed_[0], alpha)
    return alpha * loss(logits, uniform[1]) + (1 - alpha) * loss(logits, reversed_[1])
