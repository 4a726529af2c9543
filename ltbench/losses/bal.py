"""LM-CLIP's Balanced Asymmetric Loss (BAL): ASL on max-scaled logits, class-weighted positives, smoothed targets.

Timmermann et al. (LM-CLIP, IEEE Access 2025), as its code computes it
(damilab/lm-clip @ 9983999, asl_loss.py:189-288, ``BalancedAsymmetricLossOptimized``).
For logits z (B x C), labels y in {0, 1}, class weights w_c:

    x = z / max(z)                       the batch's largest logit, over all B x C entries
    p = sigmoid(x),  q = min(1 - p + clip, 1)
    t = (1 - a) y + a / C                label smoothing a; only the positive side is smoothed
    l = (1 + w_c) t log max(p, eps) + (1 - y) log max(q, eps)
    f = max(1 - t p - (1 - y) q, 0) ^ (gamma_pos t + gamma_neg (1 - y))
    loss = -mean(f * l)

w_c = (n_min / n_c) ^ weight_power, n_c the training images of class c: the
code's (N / n_c) ^ power divided by its largest value (dataset_loaders/voc_mlt.py:179,200,204).
Unlike ltbench's ``asl``, the focusing factor f carries gradient (the class's
``disable_torch_grad_focal_loss`` defaults to False and train.py:270-283 keeps it).

One change: where the code's focusing base is negative (a negative whose p is
at most ``clip``, whose log term is then log 1 = 0), the code raises it to a
non-integer power and gets NaN; ltbench clamps the base at 0, which gives the
0 the entry contributes. Wherever the code's value is finite the two agree.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ltbench.data.base import ClassStats
from ltbench.losses.common import class_tensor, float_inputs
from ltbench.registry import LOSSES


def lmclip_class_weights(class_freq: np.ndarray, power: float) -> np.ndarray:
    """(n_min / n_c) ^ power: inverse frequency raised to ``power``, 1 for the rarest class (counts clamped >= 1)."""
    counts = np.maximum(np.asarray(class_freq, dtype=np.float64), 1.0)
    return (counts.min() / counts) ** power


@LOSSES.register("bal")
class BalancedAsymmetricLoss(nn.Module):
    """LM-CLIP's BAL: ASL on logits / max(logits), positives weighted 1 + w_c, smoothed positive targets."""

    def __init__(self, stats: ClassStats, gamma_neg: float = 9.8, gamma_pos: float = 0.0, clip: float = 0.05,
                 eps: float = 1e-8, label_smoothing: float = 0.1, class_weights: bool = True,
                 weight_power: float = 1.35) -> None:
        super().__init__()
        self.gamma_neg, self.gamma_pos, self.clip, self.eps = gamma_neg, gamma_pos, clip, eps
        self.label_smoothing = label_smoothing
        freq = stats.class_freq
        weights = lmclip_class_weights(freq, weight_power) if class_weights else np.zeros(len(freq))
        self.register_buffer("class_weights", class_tensor(weights), persistent=False)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits, labels = float_inputs(logits, targets)
        p = torch.sigmoid(logits / logits.max())
        q = (1 - p + self.clip).clamp(max=1)
        smoothed = (1 - self.label_smoothing) * labels + self.label_smoothing / labels.shape[-1]
        negative = 1 - labels
        log_likelihood = ((1 + self.class_weights) * smoothed * p.clamp(min=self.eps).log()
                          + negative * q.clamp(min=self.eps).log())
        base = (1 - smoothed * p - negative * q).clamp(min=0)
        focus = base.pow(self.gamma_pos * smoothed + self.gamma_neg * negative)
        return -(focus * log_likelihood).mean()
