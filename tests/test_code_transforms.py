"""The CPRFL authors' training transforms (ltbench/data/randaugment.py), checked on pixel values."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ltbench.data import randaugment
from ltbench.data.randaugment import OPS, CutoutPIL, RandAugment, code_transform

PACKAGE_OPS = ["Invert", "Cutout", "Sharpness", "AutoContrast", "Posterize", "ShearX", "TranslateX", "TranslateY",
               "ShearY", "Rotate", "Equalize", "Contrast", "Color", "Solarize", "Brightness"]


def _rectangle(mask: np.ndarray) -> tuple[int, int]:
    """Height and width of the True region of ``mask``, which must be one filled rectangle."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    assert mask.sum() == height * width
    return height, width


def test_cutout_comes_first_and_nothing_is_normalised():
    """Black image, RandAugment forced to AutoContrast: only a square cut BEFORE it comes out (near) white."""
    torch.manual_seed(0)
    transform = code_transform(64, train=True, randaugment=RandAugment(["AutoContrast"], num_ops=1, p=1.0))
    for _ in range(20):
        out = transform(np.zeros((50, 70, 3), np.uint8))
        assert out.dtype == torch.uint8 and out.shape == (3, 64, 64)
        white = (out >= 254).all(0)  # PIL's autocontrast maps the max to 254 or 255 (float rounding)
        assert white.any() and (out[:, ~white] == 0).all()  # a random colour cut after it would survive as itself
        height, width = _rectangle(white.numpy())
        assert 17 <= height <= 33 and 17 <= width <= 33  # half the side plus one, clipped at most to about half


def _cutouts(side: int, draws: int, seed: int):
    """``draws`` CutoutPIL(0.5) outputs on a black ``side`` x ``side`` image, each with its cut mask."""
    torch.manual_seed(seed)
    for _ in range(draws):
        out = np.asarray(CutoutPIL(0.5)(Image.fromarray(np.zeros((side, side, 3), np.uint8))))
        yield out, out.any(2)


def test_cutout_is_always_applied_half_size_in_one_random_colour():
    colours = set()
    for out, cut in _cutouts(40, 30, seed=1):
        assert cut.any() and max(_rectangle(cut)) <= 21
        colours.add(tuple(out[cut][0]))
        assert (out[cut] == out[cut][0]).all()
    assert len(colours) == 30


def test_cutout_square_is_225_px_at_448_as_pils_rectangle_draws_it():
    """CPRFL's helper_functions.py:131-141: half extent int(0.5 * 448 + 0.5) // 2 = 112 either side, ends included."""
    sizes = set()
    for _, cut in _cutouts(448, 40, seed=3):
        rows, cols = np.flatnonzero(cut.any(1)), np.flatnonzero(cut.any(0))
        height, width = _rectangle(cut)
        for extent, (first, last) in ((height, (rows[0], rows[-1])), (width, (cols[0], cols[-1]))):
            assert extent == 225 or first == 0 or last == 447  # the full square unless it meets a border
        sizes.add((height, width))
    assert (225, 225) in sizes and max(max(s) for s in sizes) == 225


def test_test_images_are_only_resized():
    image = np.random.default_rng(0).integers(0, 256, (30, 20, 3), dtype=np.uint8)
    resized = np.array(Image.fromarray(image).resize((16, 16), Image.BILINEAR))
    torch.testing.assert_close(code_transform(16, train=False)(image), torch.from_numpy(resized).permute(2, 0, 1))


def test_randaugment_draws_two_ops_applies_each_with_half_probability_and_magnitudes_one_to_nine(monkeypatch):
    assert list(OPS) == PACKAGE_OPS
    calls: list[int] = []
    monkeypatch.setitem(randaugment.OPS, "Record", lambda image, m: calls.append(m) or image)
    torch.manual_seed(2)
    augment = RandAugment(["Record"])
    draws = 4000
    for _ in range(draws):
        augment(Image.new("RGB", (4, 4)))
    assert len(calls) / draws == pytest.approx(1.0, abs=0.05)  # 2 ops x p 0.5
    counts = np.bincount(calls, minlength=10)
    assert counts[0] == 0 and set(calls) == set(range(1, 10))
    assert counts[1:].min() > 0.8 * len(calls) / 9


def test_op_magnitudes_on_values():
    """The m-th of ten steps over each op's range (m = 9 is the range's end)."""
    ramp = np.tile(np.arange(256, dtype=np.uint8), (2, 1))[..., None].repeat(3, 2)
    image = Image.fromarray(ramp)
    np.testing.assert_array_equal(np.asarray(OPS["Solarize"](image, 9)), 255 - ramp)  # threshold 0: all inverted
    np.testing.assert_array_equal(np.asarray(OPS["Solarize"](image, 0)), ramp)  # threshold 256: none
    np.testing.assert_array_equal(np.asarray(OPS["Posterize"](image, 9)), ramp & 0xF0)  # 4 bits kept
    np.testing.assert_array_equal(np.asarray(OPS["Posterize"](image, 1)), ramp)  # round(7.56) = 8 bits: unchanged
    np.testing.assert_array_equal(np.asarray(OPS["Posterize"](image, 2)), ramp & 0xFE)  # round(7.11) = 7 bits
    np.testing.assert_array_equal(np.asarray(OPS["Invert"](image, 5)), 255 - ramp)
    torch.manual_seed(3)
    cut = np.asarray(OPS["Cutout"](Image.new("RGB", (64, 64)), 9))
    assert _rectangle(cut.any(2)) <= (20, 20) and (cut[cut.any(2)] == (125, 122, 113)).all()
    rotated = np.asarray(OPS["Rotate"](Image.new("RGB", (32, 32), (255, 255, 255)), 9))  # 30 degrees
    assert (rotated[0, 0] == 128).all() and (rotated[16, 16] == 255).all()
