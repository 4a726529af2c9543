"""Small pieces every loss needs: float inputs and zero-safe class counts."""

from __future__ import annotations

import numpy as np
import torch

from ltbench.data.base import ClassStats


def float_inputs(logits: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and targets (float or uint8) as float32, so AMP logits and byte labels are both safe."""
    logits = logits.float()
    return logits, targets.to(logits.dtype)


def class_counts(stats: ClassStats) -> tuple[np.ndarray, np.ndarray]:
    """Positive and negative training counts per class, each clamped to >= 1.

    The clamp is the one fallback for degenerate classes: a class with no
    training image (n_i = 0) or present in every image (n_i = N) would
    otherwise give 1/0 or log(0) in the re-balancing formulas.
    """
    pos = np.asarray(stats.class_freq, dtype=np.float64)
    neg = stats.num_train - pos
    return np.maximum(pos, 1.0), np.maximum(neg, 1.0)


def class_tensor(values: np.ndarray) -> torch.Tensor:
    """A per-class float32 tensor, to be registered as a non-persistent buffer."""
    return torch.as_tensor(values, dtype=torch.float32)


def effective_number_weights(stats: ClassStats, beta: float) -> np.ndarray:
    """Class-balanced weights c_i = (1 - beta) / (1 - beta^n_i) of Cui et al. (CVPR 2019), n_i clamped to >= 1."""
    pos, _ = class_counts(stats)
    return (1 - beta) / (1 - beta**pos)
