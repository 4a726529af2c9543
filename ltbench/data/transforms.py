"""Image pipelines: uint8 H x W x 3 arrays in, uint8 3 x S x S tensors out (float32 on the same 0-255
scale where an augmentation must not clip, as ``db`` in ``ltbench/data/db_augment.py``).

Normalisation is the backbone's job (each backbone knows its own), and the
uint8 -> float conversion happens on the training device, so loaders move
4x fewer bytes.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ltbench._torchvision_compat import ensure_torchvision_importable
from ltbench.registry import AUGMENTATIONS

ensure_torchvision_importable()
from torchvision.transforms import v2  # noqa: E402

Transform = Callable[[np.ndarray], torch.Tensor]


def build_transform(size: int, augment: str = "none", train: bool = True) -> Transform:
    """The registered augmentation ``augment``'s pipeline for one split; test images are only resized."""
    return AUGMENTATIONS.build(augment, size=size, train=train)


def to_float_images(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 batch -> float in [0, 1] on ``device`` (channels_last on CUDA for faster convolutions)."""
    images = images.to(device, non_blocking=True).float().div_(255)
    return images.contiguous(memory_format=torch.channels_last) if device.type == "cuda" else images


def _pipeline(steps: list[Callable]) -> Transform:
    pipeline = v2.Compose(steps)

    def transform(image: np.ndarray) -> torch.Tensor:
        return pipeline(torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1))

    return transform


def _resize(size: int) -> v2.Resize:
    return v2.Resize((size, size), antialias=True)


@AUGMENTATIONS.register("none")
def no_augmentation(size: int, train: bool) -> Transform:
    """Resize only."""
    return _pipeline([_resize(size)])


@AUGMENTATIONS.register("flip_crop")
def flip_crop(size: int, train: bool) -> Transform:
    """Random resized crop (scale 0.8-1) and horizontal flip."""
    if not train:
        return no_augmentation(size, train)
    return _pipeline([v2.RandomResizedCrop((size, size), scale=(0.8, 1.0), antialias=True), v2.RandomHorizontalFlip()])


@AUGMENTATIONS.register("resized_crop_jitter")
def resized_crop_jitter(size: int, train: bool) -> Transform:
    """torchvision's default random resized crop (scale 0.08-1), flip, colour jitter 0.4 (the MLC-NC code's)."""
    if not train:
        return no_augmentation(size, train)
    return _pipeline([v2.RandomResizedCrop((size, size), antialias=True), v2.RandomHorizontalFlip(),
                      v2.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.0)])


@AUGMENTATIONS.register("randaugment")
def randaugment(size: int, train: bool) -> Transform:
    """CPRFL paper recipe as ltbench reads it: resize, torchvision RandAugment, Cutout (p 0.5, black)."""
    if not train:
        return no_augmentation(size, train)
    return _pipeline([_resize(size), v2.RandAugment(), Cutout(size // 2)])


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
