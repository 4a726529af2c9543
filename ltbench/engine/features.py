"""Backbone features of a backbone that does not train, computed once and cached on disk.

When only a method's head trains and its input is not augmented, every epoch
would recompute the same features; caching them makes CPU experiments fast, and
methods that share a backbone (a Table 1 suite) share one cache. The key holds a
digest of the backbone's weights, so a fine-tuned backbone never hits the cache
of its ImageNet initialisation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from ltbench.fileio.cache_check import CorruptCache, check_zip, load_cached
from ltbench.data.base import Split
from ltbench.data.loading import SplitDataset, make_loader
from ltbench.data.transforms import Transform, to_float_images
from ltbench.engine.device import autocast
from ltbench.progress import progress_bar
from ltbench.paths import cache_root
from ltbench.fileio.atomic import atomic_write, digest, tensors_digest
from ltbench.fileio.locks import file_lock


@torch.no_grad()
def extract_features(
    backbone: nn.Module, split: Split, transform: Transform, device: torch.device, batch_size: int,
    amp: torch.dtype | None, desc: str,
) -> torch.Tensor:
    """Features of a split's un-augmented images (``transform``), on the CPU, in the dtype the backbone computes
    them in (float32, or the autocast dtype), as fresh features are: a cached run scores as an uncached one.
    Leaves the backbone's mode."""
    was_training = backbone.training
    backbone.eval()
    loader = make_loader(SplitDataset(split, transform), batch_size)
    chunks = []
    with progress_bar(desc, len(loader)) as advance:
        for images, _ in loader:
            with autocast(amp is not None, device, amp or torch.bfloat16):
                chunks.append(backbone(to_float_images(images, device)).cpu())
            advance()
    backbone.train(was_training)
    return torch.cat(chunks)


def weights_digest(module: nn.Module) -> str:
    """A short digest of every tensor of ``module``'s state: the feature cache's key to what made the features."""
    return tensors_digest(module.state_dict())[:16]


def cached_features(key_parts: dict[str, Any], compute: Callable[[], torch.Tensor]) -> torch.Tensor:
    """Load features stored under ``key_parts``, or compute and store them atomically.

    Computing happens under a lock, so parallel workers (a pool, a SLURM array)
    that miss the same entry compute it once: the others wait, then load it.
    """
    path = cache_root() / "features" / f"{digest(key_parts)}.pt"
    cached = load_cached(path, load_features, "features")
    if cached is not None:
        return cached
    with file_lock(path.with_name(f".{path.name}.lock")):
        cached = load_cached(path, load_features, "features")  # computed by another worker meanwhile
        if cached is not None:
            return cached
        features = compute()
        atomic_write(path, lambda handle: torch.save(features, handle))
        return features


def load_features(path: Path) -> torch.Tensor:
    """A features file checked first: a complete zip whose CRCs match, holding a tensor."""
    check_zip(path)
    features = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(features, torch.Tensor):
        raise CorruptCache(f"it holds a {type(features).__name__}, not a tensor")
    return features

