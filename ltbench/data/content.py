"""A digest of what a split's images hold, so that a cache computed from them is never served for other images.

Image files: their absolute paths, byte sizes and modification times (the
fingerprint the image cache's sidecar keeps); the image cache: the fingerprint
of the files it was built from, read from its sidecar, and the data file's own
size and time; in-memory arrays: their bytes; a subset: its rows and its
source's digest. Any other image source: every image's bytes (slow but exact).
"""

from __future__ import annotations

import hashlib
import json
from typing import Sequence

import numpy as np

from ltbench.data.arrays import ArrayImages
from ltbench.data.base import ImageSource, ImageSubset
from ltbench.data.image_cache import CachedImages, source_fingerprint
from ltbench.data.image_files import ImageFiles


def images_digest(images: ImageSource) -> str:
    """sha256 of what identifies ``images``' pixels (see the module docstring)."""
    digest = hashlib.sha256(type(images).__qualname__.encode())
    if isinstance(images, ImageFiles):
        digest.update(source_fingerprint(images.paths).encode())
    elif isinstance(images, CachedImages):
        digest.update(source_fingerprint([images.path]).encode())
        digest.update(_sidecar_fingerprint(images).encode())
    elif isinstance(images, ArrayImages):
        digest.update(str(images.array.shape).encode())
        digest.update(np.ascontiguousarray(images.array).data)
    elif isinstance(images, ImageSubset):
        digest.update(np.asarray(images.rows, dtype=np.int64).tobytes())
        digest.update(images_digest(images.images).encode())
    else:
        for index in range(len(images)):
            digest.update(np.ascontiguousarray(images[index]).data)
    return digest.hexdigest()


def ids_digest(ids: Sequence[str]) -> str:
    """sha256 of a split's image ids, in order."""
    return hashlib.sha256("\n".join(map(str, ids)).encode()).hexdigest()


def _sidecar_fingerprint(images: CachedImages) -> str:
    """The fingerprint of the files the cache was built from (paths, sizes, times), from its JSON sidecar."""
    try:
        return str(json.loads(images.path.with_suffix(".json").read_text()).get("fingerprint", ""))
    except (OSError, ValueError, AttributeError):
        return ""
