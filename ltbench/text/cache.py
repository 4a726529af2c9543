"""Class embeddings computed once per (encoder, weights, template, class names) and kept on disk.

Files live in ``cache_root()/text_embeddings/<key>.npy`` with a ``<key>.json``
sidecar saying what they hold and the array file's sha256, written after the
array and checked on every load. Only the encoder's ``name`` and ``source`` are
read for the key, so a cache hit never builds the encoder's model.
"""

from __future__ import annotations

import hashlib
import json
from functools import partial
from pathlib import Path

import numpy as np
import torch

from ltbench.fileio.cache_check import CorruptCache, load_cached
from ltbench.errors import LtbenchError
from ltbench.fileio.atomic import atomic_write, digest, write_json
from ltbench.paths import cache_root
from ltbench.text.base import TextEncoder


def cache_dir() -> Path:
    return cache_root() / "text_embeddings"


def cache_key(encoder: TextEncoder, class_names: list[str], template: str) -> str:
    """Digest of everything the embeddings depend on; a weights file also counts by its size and mtime."""
    source = encoder.source
    file = Path(source)
    stamp = [file.stat().st_size, file.stat().st_mtime_ns] if file.is_file() else None
    return digest([encoder.name, source, stamp, template, list(class_names)])


def encode_cached(encoder: TextEncoder, class_names: list[str], template: str) -> torch.Tensor:
    """``encoder.encode(class_names, template)``, read from the cache when it was computed before."""
    key = cache_key(encoder, class_names, template)
    array_file = cache_dir() / f"{key}.npy"
    cached = load_cached(array_file, partial(load_embeddings, shape=(len(class_names), encoder.dim)),
                         "text-embedding")
    if cached is not None:
        return torch.from_numpy(cached)
    embeddings = encoder.encode(list(class_names), template).detach().float().cpu()
    if embeddings.shape != (len(class_names), encoder.dim):
        raise LtbenchError(
            f"Text encoder {encoder.name} returned embeddings of shape {tuple(embeddings.shape)}, "
            f"not {len(class_names)} x {encoder.dim}."
        )
    atomic_write(array_file, lambda handle: np.save(handle, embeddings.numpy()))
    write_json(array_file.with_suffix(".json"), {
        "encoder": encoder.name, "source": encoder.source, "template": template,
        "class_names": list(class_names), "dim": encoder.dim, "sha256": _sha256(array_file)})
    return embeddings


def load_embeddings(array_file: Path, shape: tuple[int, int]) -> np.ndarray:
    """The stored array, checked against its sidecar's sha256 (written after the array) and ``shape``."""
    try:
        sidecar = json.loads(array_file.with_suffix(".json").read_text())
    except (OSError, ValueError) as exc:
        raise CorruptCache(f"its sidecar {array_file.with_suffix('.json').name} is unreadable: {exc}") from None
    if not isinstance(sidecar, dict) or sidecar.get("sha256") != _sha256(array_file):
        raise CorruptCache("its bytes do not match the sha256 in its sidecar")
    array = np.load(array_file)
    if array.shape != shape or array.dtype != np.float32:
        raise CorruptCache(f"it holds a {array.dtype} array of shape {array.shape}, not float32 {shape}")
    return array


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
