"""CLIP text towers through open_clip, with weights only from where the user allows.

Weights are found as ``ltbench.pretrained.clip.ClipWeights`` says (the
``text.weights`` file, the open_clip / Hugging Face cache, or a download only
with ``text.allow_download``), the same way as CLIP's image side.

The embeddings are CLIP's raw text features (``encode_text`` without L2
normalisation), as the CPRFL authors feed them to Prompt Initialisation.
``trainable_tower`` hands out the text tower itself, for heads that train it.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from ltbench.pretrained.clip import ClipWeights, Tokenizer, open_clip_module
from ltbench.errors import LtbenchError
from ltbench.registry import TEXT_ENCODERS
from ltbench.text.tower import TrainableTextTower


class OpenClipTextEncoder:
    """The text tower of an open_clip model, encoding one ``template.format(name)`` prompt per class."""

    def __init__(
        self,
        name: str,
        model_name: str,
        weights: str | None = None,
        allow_download: bool = False,
        cache_dir: str | None = None,
    ) -> None:
        self.name = name
        self.model_name = model_name
        self._weights = ClipWeights(name, model_name, "text", weights, allow_download, cache_dir)

    @property
    def dim(self) -> int:
        return int(open_clip_module().get_model_config(self.model_name)["embed_dim"])

    @property
    def source(self) -> str:
        return str(self.weights_file)

    @property
    def weights_file(self) -> Path:
        """The local checkpoint to load; resolving it never downloads unless ``allow_download``."""
        return self._weights.file

    @cached_property
    def _model(self) -> tuple[nn.Module, Tokenizer]:
        """The loaded model (image tower dropped) and its tokenizer, built on first ``encode``."""
        model, tokenizer = self._load()
        return model.eval(), tokenizer

    def _load(self) -> tuple[nn.Module, Tokenizer]:
        """A fresh copy of the model (image tower dropped) and its tokenizer."""
        model = self._weights.load()
        model.visual = nn.Identity()  # only the text tower is used; free the image tower's memory
        return model, self._weights.tokenizer()

    def trainable_tower(self, class_names: list[str], template: str) -> TrainableTextTower:
        """The text tower over ``template.format(name)`` of each class, to be trained with the model."""
        model, tokenizer = self._load()
        return TrainableTextTower(model, tokenizer([_prompt(template, n) for n in class_names]), self.dim)

    @torch.no_grad()
    def encode(self, class_names: list[str], template: str) -> torch.Tensor:
        model, tokenizer = self._model
        tokens = tokenizer([_prompt(template, name) for name in class_names])
        return model.encode_text(tokens).float()


def _prompt(template: str, class_name: str) -> str:
    if "{}" not in template:
        raise LtbenchError(f"Text template {template!r} needs a {{}} where the class name goes.")
    return template.format(class_name)


def _clip(name: str, model_name: str) -> Callable[..., OpenClipTextEncoder]:
    def factory(
        weights: str | None = None, allow_download: bool = False, cache_dir: str | None = None
    ) -> OpenClipTextEncoder:
        return OpenClipTextEncoder(name, model_name, weights, allow_download, cache_dir)

    factory.__name__ = name.replace("-", "_")
    factory.__doc__ = (
        f"CLIP {model_name} text tower (OpenAI weights via open_clip): text.weights file, else the local cache."
    )
    return factory


TEXT_ENCODERS.register("clip-rn50")(_clip("clip-rn50", "RN50"))
TEXT_ENCODERS.register("clip-vit-b16")(_clip("clip-vit-b16", "ViT-B-16"))
