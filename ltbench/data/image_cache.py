"""Decoded, resized images stored once as a uint8 memmap, so training never decodes a JPEG twice.

One raw ``N x S x S x 3`` uint8 file per (dataset, split, size) under
``cache_root()/images/``, beside a JSON sidecar holding the source's
fingerprint (image paths, byte sizes and mtimes, hashed) and a digest of
sampled images, checked on every load. The sidecar is
deleted before a rebuild and written only after the data file has been
renamed into place, so a crash never leaves a valid-looking half cache, and
a changed source is noticed and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from ltbench.fileio.cache_check import CorruptCache, load_cached
from ltbench.data.base import ImageSource, Split
from ltbench.data.image_files import ImageFiles, decode_rgb
from ltbench.progress import progress_bar
from ltbench.errors import LtbenchError
from ltbench.paths import cache_root
from ltbench.fileio.atomic import atomic_write, write_json

FORMAT_VERSION = 1  # bump when the stored pixels would change (resize filter, layout)
RESIZE = "PIL bilinear, aspect ratio ignored"
SAMPLED_ROWS = 16  # images whose bytes the sidecar's digest covers


class CachedImages:
    """ImageSource over a cache file; opened lazily so DataLoader workers re-map it instead of copying it."""

    def __init__(self, path: Path, count: int, size: int) -> None:
        self.path, self.count, self.size = Path(path), count, size
        self._array: np.memmap | None = None

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> np.ndarray:
        if self._array is None:
            self._array = np.memmap(self.path, dtype=np.uint8, mode="r", shape=(self.count, self.size, self.size, 3))
        return np.array(self._array[index])  # a private copy: callers may write into it

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_array": None}


def cache_files(dataset: str, split: str, size: int) -> tuple[Path, Path]:
    """The data file and JSON sidecar of one (dataset, split, size)."""
    stem = cache_root() / "images" / f"{dataset}_{split}_{size}"
    return Path(f"{stem}.u8"), Path(f"{stem}.json")


def source_fingerprint(paths: Sequence[Path]) -> str:
    """Hash of every image's absolute path, byte size and mtime: changes whenever the source does."""
    digest = hashlib.sha256()
    for path in paths:
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            raise LtbenchError(f"Image {path} is missing.") from None
        digest.update(f"{os.path.abspath(path)}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def open_cache(paths: Sequence[Path], dataset: str, split: str, size: int, workers: int | None = None) -> CachedImages:
    """The cache of ``paths`` resized to ``size``, built first (with a progress bar) if absent or stale."""
    data_path, sidecar_path = cache_files(dataset, split, size)
    key = {"version": FORMAT_VERSION, "fingerprint": source_fingerprint(paths), "shape": [len(paths), size, size, 3]}
    sidecar = _matching_sidecar(sidecar_path, key)
    if sidecar is not None and load_cached(data_path, partial(_check_data, sidecar=sidecar), "image") is not None:
        return CachedImages(data_path, len(paths), size)
    _build(paths, data_path, sidecar_path, size, key, f"Caching {dataset} {split} images at {size} px", workers)
    return CachedImages(data_path, len(paths), size)


def open_images(paths: Sequence[Path], dataset: str, split: str, cache_size: int | None) -> ImageSource:
    """A reader's images: decoded from file on access, or from the ``cache_size`` cache when set."""
    check_cache_size(cache_size)
    return ImageFiles(paths) if cache_size is None else open_cache(paths, dataset, split, cache_size)


def check_cache_size(cache_size: object) -> None:
    """Refuse a bad ``dataset.cache_size`` before any slow work starts."""
    if cache_size is not None and (isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 1):
        raise LtbenchError(f"dataset.cache_size must be a positive number of pixels or null, not {cache_size!r}.")


def images_meta(train: Split, test: Split) -> dict[str, str]:
    """Where each split's pixels come from, for ``LTDataset.meta``."""
    return {name: str(split.images.path) if isinstance(split.images, CachedImages) else "decoded from file on access"
            for name, split in (("train", train), ("test", test))}


def _matching_sidecar(sidecar_path: Path, key: dict[str, Any]) -> dict[str, Any] | None:
    """The sidecar when it describes exactly ``key`` (same version, source and shape), else None (stale)."""
    try:
        sidecar = json.loads(sidecar_path.read_text())
    except (OSError, ValueError):
        return None
    return sidecar if isinstance(sidecar, dict) and all(sidecar.get(k) == v for k, v in key.items()) else None


def _check_data(data_path: Path, sidecar: dict[str, Any]) -> bool:
    """Raise ``CorruptCache`` unless the data file has the sidecar's size and sampled rows.

    Hashing a multi-GB cache on every run would cost more than it guards, so
    the digest covers ``SAMPLED_ROWS`` evenly spaced images; the size check
    catches every truncation. Sidecars older than the digest are size-checked only.
    """
    shape = sidecar["shape"]
    if data_path.stat().st_size != int(np.prod(shape)):
        raise CorruptCache(f"it holds {data_path.stat().st_size} bytes, not {int(np.prod(shape))}")
    if "sample_sha256" in sidecar:
        rows = np.memmap(data_path, dtype=np.uint8, mode="r", shape=tuple(shape))
        if _sample_digest(rows[i].tobytes() for i in sampled_rows(shape[0])) != sidecar["sample_sha256"]:
            raise CorruptCache("its sampled images do not match the sha256 in its sidecar")
    return True


def sampled_rows(count: int) -> list[int]:
    return sorted({int(i) for i in np.linspace(0, count - 1, min(count, SAMPLED_ROWS))})


def _sample_digest(rows: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(row)
    return digest.hexdigest()


def _build(
    paths: Sequence[Path], data_path: Path, sidecar_path: Path, size: int, key: dict[str, Any],
    description: str, workers: int | None,
) -> None:
    """Decode with a thread pool (PIL releases the GIL while decoding) and stream rows into a temp file."""
    sidecar_path.unlink(missing_ok=True)  # an old sidecar must never vouch for new data
    start = time.perf_counter()

    sampled = set(sampled_rows(len(paths)))
    samples: list[bytes] = []

    def write(handle: Any) -> None:
        pool = ThreadPoolExecutor(workers or min(8, os.cpu_count() or 1))
        try:
            with progress_bar(description, len(paths)) as advance:
                for index, image in enumerate(pool.map(partial(decode_rgb, size=size), paths)):
                    handle.write(image.tobytes())
                    if index in sampled:
                        samples.append(image.tobytes())
                    advance()
        finally:
            pool.shutdown(cancel_futures=True)  # on a bad image, stop at once instead of decoding the rest

    atomic_write(data_path, write)
    write_json(sidecar_path, {**key, "resize": RESIZE, "num_images": len(paths),
                              "sample_sha256": _sample_digest(samples),
                              "build_seconds": round(time.perf_counter() - start, 2)})
