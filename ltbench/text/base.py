"""What a text encoder is, so that methods and the embedding cache need not know which one they hold."""

from __future__ import annotations

from typing import Protocol

import torch


class TextEncoder(Protocol):
    """Maps class names to one float32 embedding each.

    ``source`` says where the weights came from; it is recorded in results and
    is part of the embedding cache key, so it must change when the weights do.
    Building the heavy model waits until ``encode`` is called, so that a cache
    hit costs nothing.
    """

    name: str
    source: str

    @property
    def dim(self) -> int: ...

    def encode(self, class_names: list[str], template: str) -> torch.Tensor:
        """``[len(class_names), dim]`` float32 embeddings of ``template.format(name)``."""
        ...
