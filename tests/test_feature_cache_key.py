"""The feature cache never serves features of other images: its key holds the split's ids and image content."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ltbench.data.arrays import ArrayImages
from ltbench.data.base import ImageSubset
from ltbench.data.content import images_digest
from ltbench.data.image_files import ImageFiles
from ltbench.engine.features import extract_features
from ltbench.engine.prediction import place_on_device
from ltbench.experiment import build_experiment
from ltbench.config.resolve import resolve_config

TEST_COLOURS = [(255, 0, 0), (0, 0, 255)]


def write_copy(root: Path, colours: list[tuple[int, int, int]]) -> Path:
    """A custom data set: 4 training images, and 2 test images of the given colours (noise added)."""
    (root / "img").mkdir(parents=True)
    rng = np.random.default_rng(sum(map(sum, colours)))
    names = [f"train{k}.png" for k in range(4)] + ["test0.png", "test1.png"]
    for name, colour in zip(names, [(128, 128, 128)] * 4 + colours):
        pixels = np.clip(np.array(colour) + rng.integers(-20, 20, (24, 24, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(root / "img" / name)
    (root / "classes.txt").write_text("a\nb\n")
    (root / "train.csv").write_text("image,labels\nimg/train0.png,a\nimg/train1.png,b\nimg/train2.png,a|b\n"
                                    "img/train3.png,a\n")
    (root / "test.csv").write_text("image,labels\nimg/test0.png,a\nimg/test1.png,b\n")
    return root


def features(root: Path, tmp_path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The test split's features through the cache, and computed afresh, for the data set now at ``root``."""
    config = resolve_config("erm", "custom", overrides=[
        f"dataset.root={root}", "model.pretrained=false", "model.freeze=all", "train.feature_cache=true",
        "input.augment=none", "input.size=32", f"output.root={tmp_path / 'runs'}", "train.device=cpu"])
    experiment = build_experiment(config)
    inputs = place_on_device(config, experiment.dataset, experiment.parts)
    backbone = experiment.parts.model.backbone
    fresh = extract_features(backbone, experiment.dataset.test, inputs.test_transform, inputs.device, 8, None, "x")
    return inputs.features(backbone, "test"), fresh


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LTBENCH_CACHE", str(tmp_path / "cache"))


@pytest.mark.slow
def test_two_copies_of_the_data_under_one_config_never_share_cached_features(tmp_path):
    """One config (the same dataset.root), two copies of the data with the same names and labels, other pixels."""
    first = write_copy(tmp_path / "first", TEST_COLOURS)
    second = write_copy(tmp_path / "second", TEST_COLOURS[::-1])
    root = tmp_path / "data"
    shutil.copytree(first, root)
    cached_first, fresh_first = features(root, tmp_path)
    shutil.rmtree(root)
    shutil.copytree(second, root)
    cached_second, fresh_second = features(root, tmp_path)
    assert not torch.allclose(fresh_first, fresh_second)  # the copies' images differ, so must their features
    torch.testing.assert_close(cached_first, fresh_first, rtol=0, atol=0)
    torch.testing.assert_close(cached_second, fresh_second, rtol=0, atol=0)  # stored as computed: float32 here
    assert cached_second.dtype == torch.float32


@pytest.mark.slow
def test_images_rewritten_in_place_change_the_key(tmp_path):
    root = write_copy(tmp_path / "data", TEST_COLOURS)
    before, _ = features(root, tmp_path)
    Image.fromarray(np.full((24, 24, 3), 7, np.uint8)).save(root / "img" / "test1.png")
    after, fresh = features(root, tmp_path)
    torch.testing.assert_close(after, fresh, rtol=0, atol=0)
    torch.testing.assert_close(after[0], before[0], rtol=0, atol=0)  # the untouched image: the same features
    assert not torch.equal(after[1], before[1])


def test_images_digest_follows_the_pixels_or_the_files(tmp_path):
    array = np.zeros((3, 4, 4, 3), np.uint8)
    changed = array.copy()
    changed[2, 0, 0, 0] = 1
    assert images_digest(ArrayImages(array)) != images_digest(ArrayImages(changed))
    assert images_digest(ArrayImages(array)) == images_digest(ArrayImages(array.copy()))
    subset = images_digest(ImageSubset(ArrayImages(array), np.array([0, 1])))
    assert subset != images_digest(ImageSubset(ArrayImages(array), np.array([1, 0])))
    assert subset == images_digest(ImageSubset(ArrayImages(array.copy()), np.array([0, 1])))
    path = tmp_path / "x.png"
    Image.fromarray(array[0]).save(path)
    files = images_digest(ImageFiles([path]))
    Image.fromarray(changed[2]).save(path)
    assert images_digest(ImageFiles([path])) != files
