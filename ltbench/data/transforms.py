"""Image pipelines: uint8 H x W x 3 arrays in, uint8 3 x S x S tensors out.

Normalisation is the backbone's job (each backbone knows its own), and the
uint8 -> float conversion happens on the training device, so loaders move
4x fewer bytes.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ltbench._torchvision_compat import ensure_torchvision_importable
from ltbench.errors import check_choice

ensure_torchvision_importable()
from torchvision.transforms import v2  # noqa: E402

AUGMENTATIONS = ("none", "flip_crop", "paper", "randaugment")
Transform = Callable[[np.ndarray], torch.Tensor]


def build_transform(size: int, augment: str = "none", train: bool = True) -> Transform:
    """The pipeline for one split; test images are only resized."""
    check_choice("input.augment", augment, AUGMENTATIONS)
    resize = v2.Resize((size, size), antialias=True)
    steps: list[Callable] = [resize]
    if train and augment == "flip_crop":
        steps = [v2.RandomResizedCrop((size, size), scale=(0.8, 1.0), antialias=True), v2.RandomHorizontalFlip()]
    elif train and augment == "paper":  # DB baseline recipe: photometric distortion, crop (min 0.8), flip
        steps = [v2.ColorJitter(0.125, 0.5, 0.5, 0.05),
                 v2.RandomResizedCrop((size, size), scale=(0.8, 1.0), antialias=True), v2.RandomHorizontalFlip()]
    elif train and augment == "randaugment":  # CPRFL recipe: Cutout(0.5) + RandAugment
        steps = [resize, v2.RandAugment(), Cutout(size // 2)]
    pipeline = v2.Compose(steps)

    def transform(image: np.ndarray) -> torch.Tensor:
        return pipeline(torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1))

    return transform


class Cutout(torch.nn.Module):
    """Zero a random ``length`` x ``length`` square with probability ``p`` (DeVries & Taylor 2017)."""

    def __init__(self, length: int, p: float = 0.5) -> None:
        super().__init__()
        self.length, self.p = length, p

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        if torch.rand(()) >= self.p:
            return image
        height, width = image.shape[-2:]
        cy, cx = int(torch.randint(height, ())), int(torch.randint(width, ()))
        half = self.length // 2
        image = image.clone()
        image[..., max(cy - half, 0):cy + half, max(cx - half, 0):cx + half] = 0
        return image
