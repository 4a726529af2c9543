"""A loss-only method: a new loss, and the shared baseline model trained with it (as ERM, Focal, ... are)."""
import torch
import torch.nn.functional as F
from torch import nn

from ltbench import ClassStats, loss_method, register_loss


@register_loss("my_pos_weighted_bce")
class PosWeightedBCE(nn.Module):
    """BCE whose positive term of class c weighs (negatives / positives of c) ** power in the training set."""

    def __init__(self, stats: ClassStats, power: float = 0.5) -> None:
        super().__init__()
        positives = torch.as_tensor(stats.class_freq, dtype=torch.float32).clamp(min=1)
        self.register_buffer("pos_weight", ((stats.num_train - positives) / positives).clamp(min=1) ** power)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits, targets, pos_weight=self.pos_weight)


loss_method("my_pos_weight", "my_pos_weighted_bce", "Example: the baseline model with positive-weighted BCE.")
