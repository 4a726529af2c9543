"""Seeded Gaussian class embeddings: the paper's "Randn" prompt initialisation (no semantics at all)."""

from __future__ import annotations

import torch

from ltbench.errors import LtbenchError
from ltbench.registry import TEXT_ENCODERS


class RandomEncoder:
    """Row ``i`` is a fixed N(0, 1) draw for the ``i``-th class; names and template are ignored."""

    name = "random"

    def __init__(self, seed: int, dim: int) -> None:
        self.seed = seed
        self.dim = dim
        self.source = f"randn(seed={seed}, dim={dim})"

    def encode(self, class_names: list[str], template: str) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed)
        return torch.randn(len(class_names), self.dim, generator=generator)


@TEXT_ENCODERS.register("random")
def random_embeddings(weights: str | None = None, seed: int = 0, dim: int = 512) -> RandomEncoder:
    """Seeded Gaussian embeddings (the paper's Randn initialisation); text.seed and text.dim set them."""
    if weights is not None:
        raise LtbenchError("The random text encoder takes no weights; leave text.weights unset.")
    return RandomEncoder(seed, dim)
