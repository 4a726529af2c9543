"""Class embeddings computed once per (encoder, weights, template, class names) and kept on disk.

Files live in ``cache_root()/text_embeddings/<key>.npy`` with a ``<key>.json``
sidecar saying what they hold. Only the encoder's ``name`` and ``source`` are
read for the key, so a cache hit never builds the encoder's model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ltbench.errors import LtbenchError
from ltbench.fileio import atomic_write, digest, write_json
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
    if array_file.is_file():
        return torch.from_numpy(np.load(array_file))
    embeddings = encoder.encode(list(class_names), template).detach().float().cpu()
    if embeddings.shape != (len(class_names), encoder.dim):
        raise LtbenchError(
            f"Text encoder {encoder.name} returned embeddings of shape {tuple(embeddings.shape)}, "
            f"not {len(class_names)} x {encoder.dim}."
        )
    write_json(array_file.with_suffix(".json"), {
        "encoder": encoder.name, "source": encoder.source, "template": template,
        "class_names": list(class_names), "dim": encoder.dim})
    atomic_write(array_file, lambda handle: np.save(handle, embeddings.numpy()))
    return embeddings
