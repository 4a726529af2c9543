"""Decoded, resized images stored once as a uint8 memmap, so training never decodes a JPEG twice.

One raw ``N x S x S x 3`` uint8 file per (dataset, split, size) under
``cache_root()/images/``, beside a JSON sidecar holding the source's
fingerprint (image paths, byte sizes and mtimes, hashed). The sidecar is
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
from typing import Any, Sequence

import numpy as np

from ltbench.data.base import ImageSource, Split
from ltbench.data.image_files import ImageFiles, decode_rgb
from ltbench.progress import progress_bar
from ltbench.errors import LtbenchError
from ltbench.paths import cache_root
from ltbench.fileio import atomic_write, write_json

FORMAT_VERSION = 1  # bump when the stored pixels would change (resize filter, layout)
RESIZE = "PIL bilinear, aspect ratio ignored"


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
    if not _is_valid(data_path, sidecar_path, key):
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


def _is_valid(data_path: Path, sidecar_path: Path, key: dict[str, Any]) -> bool:
    try:
        sidecar = json.loads(sidecar_path.read_text())
        data_bytes = data_path.stat().st_size
    except (OSError, ValueError):
        return False
    return all(sidecar.get(k) == v for k, v in key.items()) and data_bytes == int(np.prod(key["shape"]))


def _build(
    paths: Sequence[Path], data_path: Path, sidecar_path: Path, size: int, key: dict[str, Any],
    description: str, workers: int | None,
) -> None:
    """Decode with a thread pool (PIL releases the GIL while decoding) and stream rows into a temp file."""
    sidecar_path.unlink(missing_ok=True)  # an old sidecar must never vouch for new data
    start = time.perf_counter()

    def write(handle: Any) -> None:
        pool = ThreadPoolExecutor(workers or min(8, os.cpu_count() or 1))
        try:
            with progress_bar(description, len(paths)) as advance:
                for image in pool.map(partial(decode_rgb, size=size), paths):
                    handle.write(image.tobytes())
                    advance()
        finally:
            pool.shutdown(cancel_futures=True)  # on a bad image, stop at once instead of decoding the rest

    atomic_write(data_path, write)
    write_json(sidecar_path, {**key, "resize": RESIZE, "num_images": len(paths),
                              "build_seconds": round(time.perf_counter() - start, 2)})
