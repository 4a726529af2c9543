"""The CPRFL authors' training transforms, re-implemented: Resize -> CutoutPIL -> RandAugment -> to-tensor.

Their code (``src/data_loader`` of jiexuanyan/CPRFL @ 10b5b7c) builds ``Resize((S, S))``, then
``CutoutPIL(cutout_factor=0.5)`` (ASL's: always applied, a square half the
image side plus one pixel, centred at a uniform point and clipped at the
borders, filled with one random colour), then ``RandAugment()`` of the PyPI package ``randaugment``
(1.0.2), then ``ToTensor()`` with no mean/std normalisation. Test images are
only resized. Nothing here is vendored: the behaviour below is written from the
package's description and its source's documented policy:

- Each call draws two operations, independently and uniformly (with
  replacement) from the 15 below, each with a magnitude index m uniform in
  1..9, and applies each with probability 0.5.
- A magnitude is the m-th of ten evenly spaced values over the op's range;
  a random sign where marked (+/-); fill colour (128, 128, 128) for the
  geometric ops.

====================  ==========================================================
Invert                255 - x
Cutout                square of side round(0..20 px), colour (125, 122, 113)
Sharpness, Contrast,  PIL ImageEnhance factor 1 +/- (0..0.9)
Color, Brightness
AutoContrast          PIL ImageOps.autocontrast
Equalize              PIL ImageOps.equalize
Posterize             keep round(8..4) bits
Solarize              invert pixels >= (256..0)
ShearX, ShearY        affine shear +/- (0..0.3), bicubic
TranslateX/Y          shift +/- (0..150/331) of the image side, nearest
Rotate                +(0..30) degrees, nearest
====================  ==========================================================

Random draws use torch's generator, which the engine seeds (per loader worker).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

from ltbench.data.transforms import Transform
from ltbench.registry import AUGMENTATIONS

FILL = (128, 128, 128)
PACKAGE_CUTOUT_COLOUR = (125, 122, 113)
LEVELS = 10  # ten magnitude values per op; RandAugment draws indices 1..9


def _randint(high: int) -> int:
    return int(torch.randint(high, ()))


def _sign() -> int:
    return 1 if torch.rand(()) < 0.5 else -1


def _level(start: float, end: float, m: int) -> float:
    """The m-th of ``LEVELS`` evenly spaced values from ``start`` to ``end``."""
    return start + (end - start) * m / (LEVELS - 1)


def _fill_square(image: Image.Image, side: int, colour: Sequence[int]) -> Image.Image:
    """A copy with a ``side``-wide square at a uniform centre, clipped at the borders, set to ``colour``."""
    pixels = np.array(image)
    height, width = pixels.shape[:2]
    cy, cx = _randint(height), _randint(width)
    half = side // 2
    pixels[max(cy - half, 0):cy + half, max(cx - half, 0):cx + half] = colour
    return Image.fromarray(pixels)


def _affine(image: Image.Image, coefficients: tuple[float, ...], resample: int) -> Image.Image:
    return image.transform(image.size, Image.AFFINE, coefficients, resample, fillcolor=FILL)


def _enhance(enhancer: type) -> Callable[[Image.Image, int], Image.Image]:
    return lambda image, m: enhancer(image).enhance(1 + _sign() * _level(0, 0.9, m))


OPS: dict[str, Callable[[Image.Image, int], Image.Image]] = {
    "Invert": lambda image, m: ImageOps.invert(image),
    "Cutout": lambda image, m: _fill_square(image, round(_level(0, 20, m)), PACKAGE_CUTOUT_COLOUR),
    "Sharpness": _enhance(ImageEnhance.Sharpness),
    "AutoContrast": lambda image, m: ImageOps.autocontrast(image),
    "Posterize": lambda image, m: ImageOps.posterize(image, round(_level(8, 4, m))),
    "ShearX": lambda image, m: _affine(image, (1, _sign() * _level(0, 0.3, m), 0, 0, 1, 0), Image.BICUBIC),
    "TranslateX": lambda image, m: _affine(
        image, (1, 0, _sign() * _level(0, 150 / 331, m) * image.size[0], 0, 1, 0), Image.NEAREST),
    "TranslateY": lambda image, m: _affine(
        image, (1, 0, 0, 0, 1, _sign() * _level(0, 150 / 331, m) * image.size[1]), Image.NEAREST),
    "ShearY": lambda image, m: _affine(image, (1, 0, 0, _sign() * _level(0, 0.3, m), 1, 0), Image.BICUBIC),
    "Rotate": lambda image, m: image.rotate(_level(0, 30, m), Image.NEAREST, fillcolor=FILL),
    "Equalize": lambda image, m: ImageOps.equalize(image),
    "Contrast": _enhance(ImageEnhance.Contrast),
    "Color": _enhance(ImageEnhance.Color),
    "Solarize": lambda image, m: ImageOps.solarize(image, _level(256, 0, m)),
    "Brightness": _enhance(ImageEnhance.Brightness),
}


class RandAugment:
    """``num_ops`` ops drawn from ``ops`` with magnitude indices in ``magnitudes``, each applied with ``p``."""

    def __init__(self, ops: Sequence[str] = tuple(OPS), num_ops: int = 2, p: float = 0.5,
                 magnitudes: tuple[int, int] = (1, 9)) -> None:
        self.ops, self.num_ops, self.p, self.magnitudes = list(ops), num_ops, p, magnitudes

    def __call__(self, image: Image.Image) -> Image.Image:
        low, high = self.magnitudes
        for _ in range(self.num_ops):
            name, m = self.ops[_randint(len(self.ops))], low + _randint(high - low + 1)
            if torch.rand(()) < self.p:
                image = OPS[name](image, m)
        return image


class CutoutPIL:
    """Always cut a rectangle about ``factor`` of each side, filled with one random colour (ASL's CutoutPIL).

    As the authors' code draws it (CPRFL ``helper_functions.py:131-141``): half
    extent ``int(factor * side + 0.5) // 2`` either side of a uniform centre,
    clipped to the image, drawn with PIL's ``rectangle``, which includes both
    end points: 225 x 225 px at 448 (not 224), 113 at 224.
    """

    def __init__(self, factor: float = 0.5) -> None:
        self.factor = factor

    def __call__(self, image: Image.Image) -> Image.Image:
        width, height = image.size
        cy, cx = _randint(height), _randint(width)
        half_h, half_w = int(self.factor * height + 0.5) // 2, int(self.factor * width + 0.5) // 2
        box = [max(cx - half_w, 0), max(cy - half_h, 0), min(cx + half_w, width), min(cy + half_h, height)]
        image = image.copy()
        ImageDraw.Draw(image).rectangle(box, fill=tuple(_randint(256) for _ in range(3)))
        return image


def code_transform(size: int, train: bool = True, randaugment: RandAugment | None = None) -> Transform:
    """The authors' pipeline for one split: uint8 H x W x 3 in, uint8 3 x size x size out, never normalised."""
    steps = [CutoutPIL(0.5), randaugment or RandAugment()] if train else []

    def transform(array: np.ndarray) -> torch.Tensor:
        image = Image.fromarray(np.ascontiguousarray(array)).resize((size, size), Image.BILINEAR)
        for step in steps:
            image = step(image)
        return torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1)

    return transform


@AUGMENTATIONS.register("cutout_randaugment")
def cutout_randaugment(size: int, train: bool) -> Transform:
    """The CPRFL authors' code: resize, CutoutPIL (always), the randaugment package's RandAugment, no normalisation."""
    return code_transform(size, train)
