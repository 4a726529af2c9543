"""Every cache checks itself on load: a truncated or garbled entry is named, deleted and rebuilt once."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
from PIL import Image

from ltbench.data.image_cache import cache_files, open_cache
from ltbench.data.mnist_lt import mnist_lt
from ltbench.engine.features import cached_features
from ltbench.text.cache import cache_dir, encode_cached
from ltbench.text.randn import RandomEncoder


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def garble(path: Path) -> None:
    """Overwrite 64 bytes in the middle: the size stays, the content does not."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(255 - b for b in data[middle:middle + 64])
    path.write_bytes(bytes(data))


DAMAGE = [truncate, garble]


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LTBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def only_file(folder: Path, pattern: str) -> Path:
    (found,) = list(folder.rglob(pattern))
    return found


def assert_warned_once(capsys: pytest.CaptureFixture[str], path: Path) -> None:
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and str(path) in warnings[0] and "corrupt" in warnings[0]


@pytest.mark.parametrize("damage", DAMAGE)
def test_feature_cache_is_rebuilt(damage: Callable[[Path], None], private_cache, capsys):
    features = torch.randn(6, 4, 2, 2).half()
    calls = []

    def compute() -> torch.Tensor:
        calls.append(1)
        return features.clone()

    key = {"backbone": "test", "n": 6}
    cached_features(key, compute)
    path = only_file(private_cache, "*.pt")
    damage(path)
    capsys.readouterr()
    again = cached_features(key, compute)
    assert len(calls) == 2 and torch.equal(again, features)
    assert_warned_once(capsys, path)
    assert torch.equal(cached_features(key, compute), features) and len(calls) == 2  # the rebuilt entry is sound


@pytest.mark.parametrize("damage", DAMAGE)
def test_mnist_lt_cache_is_rebuilt(damage: Callable[[Path], None], private_cache, capsys):
    params = dict(max_count=20, min_count=2, num_test=30, test_sources_per_class=20)
    first = mnist_lt(**params)
    path = only_file(private_cache, "*.npz")
    damage(path)
    capsys.readouterr()
    again = mnist_lt(**params)
    assert_warned_once(capsys, path)
    assert np.array_equal(again.train.targets, first.train.targets)
    assert np.array_equal(np.stack(list(again.test.images)), np.stack(list(first.test.images)))


@pytest.mark.parametrize("damage", DAMAGE)
def test_text_embedding_cache_is_rebuilt(damage: Callable[[Path], None], capsys):
    encoder = RandomEncoder(seed=3, dim=16)
    names = ["cat", "dog", "bird"]
    first = encode_cached(encoder, names, "a {}")
    path = only_file(cache_dir(), "*.npy")
    damage(path)
    capsys.readouterr()
    assert torch.equal(encode_cached(encoder, names, "a {}"), first)
    assert_warned_once(capsys, path)


def test_text_embedding_without_sidecar_is_rebuilt(capsys):
    encoder = RandomEncoder(seed=3, dim=16)
    first = encode_cached(encoder, ["cat"], "a {}")
    only_file(cache_dir(), "*.json").unlink()
    capsys.readouterr()
    assert torch.equal(encode_cached(encoder, ["cat"], "a {}"), first)
    assert_warned_once(capsys, only_file(cache_dir(), "*.npy"))


@pytest.fixture
def jpegs(tmp_path: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for k in range(4):
        path = tmp_path / "images" / f"{k}.png"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 256, size=(20, 20, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


@pytest.mark.parametrize("damage", DAMAGE)
def test_image_cache_is_rebuilt(damage: Callable[[Path], None], jpegs, capsys):
    expected = np.stack(list(open_cache(jpegs, "toy", "train", 8, workers=1)))
    data_path, _ = cache_files("toy", "train", 8)
    damage(data_path)
    capsys.readouterr()
    again = open_cache(jpegs, "toy", "train", 8, workers=1)
    assert_warned_once(capsys, data_path)
    assert np.array_equal(np.stack(list(again)), expected)


def test_stale_image_cache_is_rebuilt_without_a_warning(jpegs, capsys):
    open_cache(jpegs, "toy", "train", 8, workers=1)
    os.utime(jpegs[0], ns=(0, 0))  # the source changed: an ordinary rebuild, not a corrupt cache
    capsys.readouterr()
    open_cache(jpegs, "toy", "train", 8, workers=1)
    assert "warning" not in capsys.readouterr().err


@pytest.mark.slow
def test_a_run_on_a_damaged_feature_cache_warns_rebuilds_and_gets_the_same_result(tmp_path, private_cache, capsys):
    from ltbench.cli import main

    run = ["run", "--method", "erm", "--dataset", "mnist_lt", "--model.freeze", "all", "--train.epochs", "1",
           "--input.size", "32", "--dataset.max_count", "120", "--dataset.num_test", "100"]
    assert main([*run, "--output.root", str(tmp_path / "first")]) == 0
    damaged = sorted((private_cache / "features").glob("*.pt"))[0]
    garble(damaged)
    capsys.readouterr()
    assert main([*run, "--output.root", str(tmp_path / "second")]) == 0
    assert_warned_once(capsys, damaged)
    first, second = (json.loads(next((tmp_path / name).rglob("metrics.json")).read_text()) for name in ("first", "second"))
    assert second["map"] == first["map"]
