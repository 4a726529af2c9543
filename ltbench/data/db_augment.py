"""The DB repository's training augmentation (Wu et al., ECCV 2020), as its code runs it.

DistributionBalancedLoss @ 14460d0, ``mllt/datasets/extra_aug.py``: mmdet's
``PhotoMetricDistortion`` on the float image (lines 18-62: each op with
probability 0.5, additive brightness +-32, contrast x0.5-1.5 before or after
the HSV ops, saturation x0.5-1.5 and hue +-18 degrees through OpenCV's float
HSV conversion, a random channel permutation; nothing is clipped), then
``RandomCrop(min_crop_size=0.8)`` (lines 95-115: each side 0.8-1 of the
original's), then resize to the output size and a horizontal flip with
probability 0.5 (``custom.py:227-236``).

ltbench crops first and runs the photometric ops on the output-size image
(about 4x fewer pixels at 375 x 500). The crop and flip draw the same
distribution in either order; brightness, contrast and the channel swap are
affine per pixel and so commute exactly with the resize; saturation and hue are
per-pixel too and commute with the crop exactly, with the resize up to the
interpolation between neighbouring pixels. Output: a float32 ``3 x S x S``
tensor on the 0-255 scale, unclipped (pixels may leave 0-255, as in DB's code).
Randomness comes from torch's generator, so loader seeds govern it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ltbench._torchvision_compat import ensure_torchvision_importable
from ltbench.data.transforms import Transform, no_augmentation
from ltbench.registry import AUGMENTATIONS

ensure_torchvision_importable()
from torchvision.transforms.v2 import functional as F  # noqa: E402

BRIGHTNESS_DELTA = 32.0
CONTRAST_RANGE = (0.5, 1.5)
SATURATION_RANGE = (0.5, 1.5)
HUE_DELTA = 18.0
MIN_CROP_SIDE = 0.8
CROP_TRIES = 50
FLT_EPSILON = float(np.finfo(np.float32).eps)
# OpenCV's HSV2RGB_native picks, per hue sector, each of r, g, b from V (1 - S w) with w in {0, 1, f, 1 - f};
# the same weight is clamp(min(k, 4 - k), 0, 1) with k = (n + H / 60) mod 6 and n = 5, 3, 1 for r, g, b
CHANNEL_OFFSETS = torch.tensor([5.0, 3.0, 1.0]).view(3, 1, 1)


def _uniform(low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand(()))


def _coin() -> bool:
    return bool(torch.rand(()) < 0.5)


@dataclass(frozen=True)
class Photometric:
    """One draw of the distortion: each field None when that op is skipped."""

    brightness: float | None = None
    contrast: float | None = None
    contrast_first: bool = False   # mmdet's mode 1: contrast before the HSV ops, else after them
    saturation: float | None = None
    hue: float | None = None
    channels: tuple[int, int, int] | None = None


def draw_photometric() -> Photometric:
    """The random choices of ``PhotoMetricDistortion.__call__``, in its order (extra_aug.py:20-60)."""
    brightness = _uniform(-BRIGHTNESS_DELTA, BRIGHTNESS_DELTA) if _coin() else None
    contrast_first = _coin()
    early = _uniform(*CONTRAST_RANGE) if contrast_first and _coin() else None
    saturation = _uniform(*SATURATION_RANGE) if _coin() else None
    hue = _uniform(-HUE_DELTA, HUE_DELTA) if _coin() else None
    late = _uniform(*CONTRAST_RANGE) if not contrast_first and _coin() else None
    channels = tuple(torch.randperm(3).tolist()) if _coin() else None
    return Photometric(brightness, early if contrast_first else late, contrast_first, saturation, hue, channels)


def rgb_to_hsv(image: torch.Tensor) -> torch.Tensor:
    """OpenCV's float RGB -> HSV (RGB2HSV_f): H in degrees [0, 360), S = (V - min) / (|V| + eps), V = max."""
    r, g, b = image.unbind(0)
    value, low = image.amax(0), image.amin(0)
    diff = value - low
    saturation = diff / (value.abs() + FLT_EPSILON)
    scale = 60.0 / (diff + FLT_EPSILON)
    hue = torch.where(value == r, (g - b) * scale,
                      torch.where(value == g, (b - r) * scale + 120.0, (r - g) * scale + 240.0))
    hue = torch.where(hue < 0, hue + 360.0, hue)
    return torch.stack([hue, saturation, value])


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """OpenCV's float HSV -> RGB (HSV2RGB_native), H in degrees; the inverse of ``rgb_to_hsv`` for V >= 0."""
    hue, saturation, value = hsv[0:1], hsv[1:2], hsv[2:3]
    k = torch.remainder(hue / 60.0 + CHANNEL_OFFSETS, 6.0)
    weight = torch.minimum(k, 4.0 - k).clamp_(0.0, 1.0)
    return value - value * saturation * weight


def apply_photometric(image: torch.Tensor, draw: Photometric) -> torch.Tensor:
    """``draw`` applied to a float RGB image on the 0-255 scale, in mmdet's order, without clipping."""
    image = image.float().clone()
    if draw.brightness is not None:
        image += draw.brightness
    if draw.contrast_first and draw.contrast is not None:
        image *= draw.contrast
    # DB's code converts to HSV and back even when neither HSV op is drawn (extra_aug.py:35,49): an identity
    # (to float rounding) unless a pixel's largest channel is negative, which the round trip changes
    if draw.saturation is not None or draw.hue is not None or bool(image.amax(0).min() < 0):
        hsv = rgb_to_hsv(image)
        if draw.saturation is not None:
            hsv[1] *= draw.saturation
        if draw.hue is not None:
            hue = hsv[0] + draw.hue
            hsv[0] = torch.where(hue > 360, hue - 360, torch.where(hue < 0, hue + 360, hue))
        image = hsv_to_rgb(hsv)
    if not draw.contrast_first and draw.contrast is not None:
        image *= draw.contrast
    if draw.channels is not None:
        image = image[list(draw.channels)]
    return image


def draw_crop(height: int, width: int) -> tuple[int, int, int, int]:
    """DB's ``RandomCrop(0.8)`` box (top, left, height, width) in pixels of a ``height`` x ``width`` image.

    Each side 0.8-1 of the image's, the box's aspect within 1:2-2:1 (else up to
    50 new draws, then the whole image). The offsets are drawn as DB's code draws
    them, ``numpy.random.uniform(W - w)``, which is uniform between W - w and 1.0.
    """
    for _ in range(CROP_TRIES):
        new_w = _uniform(MIN_CROP_SIDE * width, width)
        new_h = _uniform(MIN_CROP_SIDE * height, height)
        if not 0.5 <= new_h / new_w <= 2:
            continue
        left, top = _uniform(width - new_w, 1.0), _uniform(height - new_h, 1.0)
        x0, y0 = int(left), int(top)
        return y0, x0, int(top + new_h) - y0, int(left + new_w) - x0
    return 0, 0, height, width


@AUGMENTATIONS.register("db")
def db_augmentation(size: int, train: bool) -> Transform:
    """The DB code's pipeline: crop 0.8-1 of each side, resize, photometric distortion (p 0.5 each), flip."""
    if not train:
        return no_augmentation(size, train)

    def transform(image: np.ndarray) -> torch.Tensor:
        tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
        top, left, height, width = draw_crop(*tensor.shape[-2:])
        patch = F.resized_crop(tensor, top, left, height, width, [size, size], antialias=True)
        out = apply_photometric(patch, draw_photometric())
        return out.flip(-1) if _coin() else out

    return transform
