"""DB's baseline recipe as its code runs it: the photometric distortion and crop, the class-aware sampler with
reduce 4 (so the warm-up ends), the neck's init. Expected values by hand or from independent formulas."""

from __future__ import annotations

import colorsys
import math

import numpy as np
import pytest
import torch
from torch import nn

from ltbench.data.db_augment import (
    Photometric, apply_photometric, db_augmentation, draw_crop, draw_photometric, hsv_to_rgb, rgb_to_hsv,
)
from ltbench.data.split_files import CANONICAL
from ltbench.engine.optim import build_scheduler
from ltbench.models.heads import PooledHead
from ltbench.registry import SAMPLERS
from ltbench.config.resolve import resolve_config


def gray(value: float, size: int = 8) -> torch.Tensor:
    return torch.full((3, size, size), float(value))


def test_brightness_is_additive_and_unclipped():
    assert torch.equal(apply_photometric(gray(250), Photometric(brightness=20.0)), gray(270))
    assert torch.equal(apply_photometric(gray(10), Photometric(brightness=-20.0)), gray(-10))


def test_contrast_multiplies_before_or_after_the_hsv_ops():
    for first in (True, False):
        assert torch.allclose(apply_photometric(gray(200), Photometric(contrast=1.5, contrast_first=first)),
                              gray(300))


def test_channel_swap_permutes_channels():
    image = torch.stack([gray(10)[0], gray(20)[0], gray(30)[0]])
    swapped = apply_photometric(image, Photometric(channels=(2, 0, 1)))
    assert swapped[:, 0, 0].tolist() == pytest.approx([30, 10, 20], abs=1e-3)


def test_hsv_conversion_matches_colorsys_and_round_trips():
    rgb = torch.rand(3, 16, 16, generator=torch.Generator().manual_seed(0)) * 255
    hsv = rgb_to_hsv(rgb)
    for y, x in [(0, 0), (3, 7), (15, 15), (9, 2)]:
        h, s, v = colorsys.rgb_to_hsv(*(rgb[:, y, x] / 255).tolist())
        assert hsv[:, y, x].tolist() == pytest.approx([h * 360, s, v * 255], rel=1e-4, abs=1e-3)
    assert torch.allclose(hsv_to_rgb(hsv), rgb, atol=1e-3)


def _opencv_hsv2rgb(h: float, s: float, v: float) -> tuple[float, float, float]:
    """OpenCV's HSV2RGB_native, sector table and all (its tab[] and sector_data), returning r, g, b."""
    hh = math.fmod(h / 60, 6)
    sector = math.floor(hh)
    fraction = hh - sector
    if not 0 <= sector < 6:
        sector, fraction = 0, 0.0
    tab = [v, v * (1 - s), v * (1 - s * fraction), v * (1 - s * (1 - fraction))]
    b, g, r = (tab[i] for i in [[1, 3, 0], [1, 0, 2], [3, 0, 1], [0, 2, 1], [0, 1, 3], [2, 1, 0]][sector])
    return r, g, b


def test_hsv_to_rgb_follows_opencv_outside_the_usual_range():
    # after an unclipped brightness shift DB's code converts pixels with S > 1 or V < 0; OpenCV's table decides
    gen = torch.Generator().manual_seed(1)
    hsv = torch.stack([torch.rand(300, generator=gen) * 360, torch.rand(300, generator=gen) * 4 - 1,
                       torch.rand(300, generator=gen) * 600 - 100]).view(3, 300, 1)
    ours = hsv_to_rgb(hsv).view(3, 300).T
    expected = torch.tensor([_opencv_hsv2rgb(*hsv[:, i, 0].tolist()) for i in range(300)])
    assert torch.allclose(ours, expected, atol=1e-3)


def test_saturation_and_hue_act_in_hsv_space():
    red = torch.tensor([255.0, 0.0, 0.0]).view(3, 1, 1)
    shifted = apply_photometric(red, Photometric(hue=18.0))
    assert shifted.view(3).tolist() == pytest.approx([c * 255 for c in colorsys.hsv_to_rgb(0.05, 1, 1)], abs=1e-2)
    pale = torch.tensor([200.0, 100.0, 100.0]).view(3, 1, 1)
    half = apply_photometric(pale, Photometric(saturation=0.5)).view(3).tolist()
    assert half == pytest.approx([200, 150, 150], abs=1e-2)  # S 0.5 -> 0.25 at V 200: min 150


def test_each_op_is_drawn_with_probability_one_half():
    torch.manual_seed(0)
    draws = [draw_photometric() for _ in range(4000)]
    for field in ("brightness", "contrast", "saturation", "hue", "channels"):
        rate = sum(getattr(d, field) is not None for d in draws) / len(draws)
        assert abs(rate - 0.5) < 0.03, (field, rate)
    assert abs(sum(d.contrast_first for d in draws) / len(draws) - 0.5) < 0.03
    assert all(-32 <= d.brightness <= 32 for d in draws if d.brightness is not None)
    assert all(0.5 <= d.contrast <= 1.5 for d in draws if d.contrast is not None)
    assert all(-18 <= d.hue <= 18 for d in draws if d.hue is not None)


def test_crop_sides_are_four_fifths_to_all_of_the_image():
    torch.manual_seed(0)
    boxes = [draw_crop(375, 500) for _ in range(2000)]
    heights = np.array([b[2] for b in boxes]) / 375
    widths = np.array([b[3] for b in boxes]) / 500
    assert heights.min() >= 0.8 - 1 / 375 and heights.max() <= 1 and widths.min() >= 0.8 - 1 / 500
    assert widths.mean() == pytest.approx(0.9, abs=0.01) and heights.mean() == pytest.approx(0.9, abs=0.01)
    assert all(top + h <= 375 and left + w <= 500 for top, left, h, w in boxes)
    # a 1:5 panorama admits no crop of aspect 1:2..2:1 with sides >= 0.8: DB's code keeps the whole image
    assert draw_crop(100, 500) == (0, 0, 100, 500)


def test_photometric_at_the_output_size_commutes_with_the_resize():
    from torchvision.transforms.v2 import functional as F

    torch.manual_seed(0)
    smooth = F.resize(torch.rand(3, 12, 12) * 255, [448, 448], antialias=True)
    affine = Photometric(brightness=-25.0, contrast=1.4, contrast_first=True, channels=(1, 2, 0))
    full = F.resize(apply_photometric(smooth, affine), [224, 224], antialias=True)
    assert torch.allclose(apply_photometric(F.resize(smooth, [224, 224], antialias=True), affine), full, atol=1e-2)
    hsv = Photometric(saturation=1.4, hue=-12.0)
    full = F.resize(apply_photometric(smooth, hsv), [224, 224], antialias=True)
    small = apply_photometric(F.resize(smooth, [224, 224], antialias=True), hsv)
    assert (small - full).abs().mean() < 0.5  # up to interpolation between neighbouring pixels


def test_db_transform_outputs_unclipped_float_at_the_output_size():
    torch.manual_seed(0)
    transform = db_augmentation(32, train=True)
    outputs = [transform(np.full((60, 80, 3), 250, dtype=np.uint8)) for _ in range(200)]
    assert all(o.shape == (3, 32, 32) and o.dtype == torch.float32 for o in outputs)
    assert max(float(o.max()) for o in outputs) > 255  # a brightened or contrasted white image is not clipped
    assert db_augmentation(32, train=False)(np.zeros((60, 80, 3), dtype=np.uint8)).dtype == torch.uint8


def _split_targets(dataset: str) -> np.ndarray:
    """A label matrix with the split's training images per class (``CANONICAL``); one label per row suffices, as
    the class-aware sampler's length depends on the class counts only."""
    freq = CANONICAL[dataset].class_freq
    return np.repeat(np.eye(len(freq), dtype=np.uint8), freq, axis=0)


@pytest.mark.parametrize("dataset, samples, iterations", [("voc_lt", 3875, 121), ("coco_lt", 22560, 705)])
def test_db_focal_preset_samples_class_aware_with_reduce_four(dataset, samples, iterations):
    config = resolve_config("db_focal", dataset)
    params = {k: v for k, v in config["train"]["sampler"].items() if k != "name"}
    sampler = SAMPLERS.build(config["train"]["sampler"]["name"], targets=_split_targets(dataset), seed=1, **params)
    assert len(sampler) == samples
    assert len(sampler) // config["train"]["batch_size"] == iterations
    assert resolve_config("erm", dataset)["train"]["sampler"] == {"name": "group"}  # DB's ERM: its GroupSampler


def test_the_warm_up_ends_and_the_lr_peaks_at_point_zero_two():
    config = resolve_config("db_focal", "voc_lt")["train"]

    def peak(steps_per_epoch: int) -> float:
        optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=config["optimizer"]["lr"])
        scheduler = build_scheduler(optimizer, config["schedule"], steps_per_epoch, config["epochs"])
        rates = []
        for _ in range(steps_per_epoch * config["epochs"]):
            rates.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
        return max(rates)

    assert peak(3875 // 32) == pytest.approx(0.02)
    # one pass over VOC-LT's 1,142 images (35 iterations): the lr drops at epoch 5 before the warm-up ends
    assert peak(1142 // 32) == pytest.approx(0.02 * (1 / 3 + 2 / 3 * 174 / 500))


def test_db_neck_linear_is_kaiming_normal_fan_out():
    torch.manual_seed(0)
    head = PooledHead(2048, 20, kind="db_neck")
    neck = head.neck[0]
    assert neck.weight.std().item() == pytest.approx(math.sqrt(2 / 256), rel=0.02)  # gain sqrt(2), fan_out 256
    assert abs(neck.weight.mean().item()) < 1e-3 and torch.count_nonzero(neck.bias) == 0
    assert head.classifier.weight.std().item() == pytest.approx(0.01, rel=0.05)
