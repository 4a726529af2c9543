"""The uint8 memmap image cache: exact pixels, hits, rebuilds on source change, no half-written caches."""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ltbench.data import image_cache
from ltbench.data.image_cache import CachedImages, cache_files, open_cache, open_images
from ltbench.data.image_files import ImageFiles, decode_rgb
from ltbench.errors import LtbenchError

SIZE = 24


@pytest.fixture
def sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Five small JPEGs of differing sizes and modes, and a private cache root."""
    monkeypatch.setenv("LTBENCH_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    paths = []
    for k in range(5):
        pixels = rng.integers(0, 256, size=(30 + 3 * k, 50 - 2 * k, 3), dtype=np.uint8)
        image = Image.fromarray(pixels)
        path = tmp_path / "images" / f"{k}.jpg"
        path.parent.mkdir(exist_ok=True)
        (image.convert("L") if k == 4 else image).save(path, quality=90)  # a grey JPEG must come back RGB
        paths.append(path)
    return paths


def expected(paths: list[Path]) -> np.ndarray:
    return np.stack([np.asarray(Image.open(p).convert("RGB").resize((SIZE, SIZE), Image.Resampling.BILINEAR))
                     for p in paths])


def stored(cache: CachedImages) -> np.ndarray:
    return np.stack([cache[i] for i in range(len(cache))])


def test_cache_holds_the_decoded_resized_images(sources: list[Path]) -> None:
    cache = open_cache(sources, "demo", "train", SIZE)
    assert len(cache) == 5 and cache[0].dtype == np.uint8 and cache[0].shape == (SIZE, SIZE, 3)
    np.testing.assert_array_equal(stored(cache), expected(sources))
    data_path, sidecar_path = cache_files("demo", "train", SIZE)
    assert cache.path == data_path and data_path.stat().st_size == 5 * SIZE * SIZE * 3 and sidecar_path.is_file()
    cache[0][:] = 0  # items are private copies
    np.testing.assert_array_equal(cache[0], expected(sources)[0])


def test_second_open_is_a_hit(sources: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    open_cache(sources, "demo", "train", SIZE)

    def no_decoding(*args: object, **kwargs: object) -> np.ndarray:
        raise AssertionError("a valid cache must not be rebuilt")

    monkeypatch.setattr(image_cache, "decode_rgb", no_decoding)
    np.testing.assert_array_equal(stored(open_cache(sources, "demo", "train", SIZE)), expected(sources))


def test_changed_or_added_source_rebuilds(sources: list[Path]) -> None:
    open_cache(sources, "demo", "train", SIZE)
    Image.new("RGB", (40, 40), (200, 10, 30)).save(sources[2])
    rebuilt = open_cache(sources, "demo", "train", SIZE)
    np.testing.assert_array_equal(rebuilt[2], np.full((SIZE, SIZE, 3), rebuilt[2][0, 0]))
    np.testing.assert_array_equal(stored(rebuilt), expected(sources))
    grown = open_cache(sources + sources[:1], "demo", "train", SIZE)
    assert len(grown) == 6
    np.testing.assert_array_equal(grown[5], expected(sources)[0])


def test_truncated_data_file_rebuilds(sources: list[Path]) -> None:
    cache = open_cache(sources, "demo", "train", SIZE)
    with cache.path.open("r+b") as handle:
        handle.truncate(100)
    np.testing.assert_array_equal(stored(open_cache(sources, "demo", "train", SIZE)), expected(sources))


def test_crash_leaves_no_valid_looking_cache(sources: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    open_cache(sources, "demo", "train", SIZE)
    os.utime(sources[0], ns=(1, 1))  # the source changed: the next open must rebuild
    calls = []

    def crash_on_fourth(path: Path, size: int | None = None) -> np.ndarray:
        calls.append(path)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return decode_rgb(path, size)

    monkeypatch.setattr(image_cache, "decode_rgb", crash_on_fourth)
    with pytest.raises(KeyboardInterrupt):
        open_cache(sources, "demo", "train", SIZE, workers=1)
    data_path, sidecar_path = cache_files("demo", "train", SIZE)
    assert not sidecar_path.exists()  # the old sidecar no longer vouches for anything
    assert [p.name for p in data_path.parent.iterdir()] == [data_path.name]  # no temp file left
    monkeypatch.setattr(image_cache, "decode_rgb", decode_rgb)
    np.testing.assert_array_equal(stored(open_cache(sources, "demo", "train", SIZE)), expected(sources))


def test_bad_image_is_named(sources: list[Path]) -> None:
    sources[3].write_bytes(sources[3].read_bytes()[:200])
    with pytest.raises(LtbenchError, match=rf"Image {re.escape(str(sources[3]))} cannot be decoded"):
        open_cache(sources, "demo", "test", SIZE)
    assert not cache_files("demo", "test", SIZE)[0].exists()


def test_pickling_does_not_copy_pixels(sources: list[Path]) -> None:
    cache = open_cache(sources, "demo", "train", SIZE)
    cache[0]  # maps the file
    blob = pickle.dumps(cache)
    assert len(blob) < 1000
    np.testing.assert_array_equal(stored(pickle.loads(blob)), expected(sources))


def test_open_images_without_cache_decodes_full_size(sources: list[Path]) -> None:
    images = open_images(sources, "demo", "train", None)
    assert isinstance(images, ImageFiles) and images[4].shape == (42, 42, 3)
    assert isinstance(open_images(sources, "demo", "train", SIZE), CachedImages)
    with pytest.raises(LtbenchError, match="dataset.cache_size must be a positive number"):
        open_images(sources, "demo", "train", 0)
