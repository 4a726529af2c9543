"""CLIP text towers through open_clip, with weights only from where the user allows.

Weights come from, in order: ``weights`` (a local checkpoint file), then a
copy already in the Hugging Face cache or open_clip's URL cache
(``~/.cache/clip``, or ``cache_dir`` for both), then, only with
``allow_download``, a download by open_clip. Nothing is fetched by default.

The embeddings are CLIP's raw text features (``encode_text`` without L2
normalisation), as the CPRFL authors feed them to Prompt Initialisation.
``trainable_tower`` hands out the text tower itself, for heads that train it.
"""

from __future__ import annotations

import os
import warnings
import zipfile
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import torch
from torch import nn

from ltbench._torchvision_compat import ensure_torchvision_importable
from ltbench.errors import LtbenchError
from ltbench.hub_cache import cached_weights
from ltbench.paths import existing_file
from ltbench.registry import TEXT_ENCODERS
from ltbench.text.tower import TrainableTextTower

PRETRAINED_TAG = "openai"  # OpenAI's weights, trained with QuickGELU


def _open_clip() -> ModuleType:
    """open_clip, imported on first use: it takes seconds and a cache hit never needs it."""
    ensure_torchvision_importable()
    import open_clip

    return open_clip


def _is_torchscript(file: Path) -> bool:
    """OpenAI's own ``RN50.pt`` files are TorchScript archives, which ``weights_only`` loading refuses."""
    if not zipfile.is_zipfile(file):
        return False
    with zipfile.ZipFile(file) as archive:
        return any(name.endswith("constants.pkl") for name in archive.namelist())


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
        self.weights = weights
        self.allow_download = allow_download
        self.cache_dir = cache_dir

    @property
    def dim(self) -> int:
        return int(_open_clip().get_model_config(self.model_name)["embed_dim"])

    @property
    def source(self) -> str:
        return str(self.weights_file)

    @cached_property
    def weights_file(self) -> Path:
        """The local checkpoint to load; resolving it never downloads unless ``allow_download``."""
        if self.weights is not None:
            option = f"text.weights=/path/to/{self.model_name}.pt (an OpenAI or open_clip checkpoint)"
            return existing_file(self.weights, f"The {self.name} weights file", option).resolve()
        config = _open_clip().get_pretrained_cfg(self.model_name, PRETRAINED_TAG)
        cached = self._cached_file(config)
        if cached is not None:
            return cached
        if self.allow_download and config:
            return Path(_open_clip().download_pretrained(config, cache_dir=self.cache_dir))
        raise LtbenchError(
            f"CLIP weights for {self.name} not found in the open_clip/Hugging Face cache; pass "
            f"text.weights=/path/to/{self.model_name}.pt (or text.allow_download=true to let open_clip fetch them)."
        )

    def _cached_file(self, config: dict[str, Any]) -> Path | None:
        """Where open_clip would have put these weights, if a previous download left them there."""
        from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

        repo, filename = os.path.split(config.get("hf_hub", ""))
        return cached_weights(repo, [filename] if filename else [HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME],
                              config.get("url"), Path(self.cache_dir or "~/.cache/clip"), self.cache_dir)

    @cached_property
    def _model(self) -> tuple[nn.Module, Callable[[list[str]], torch.Tensor]]:
        """The loaded model and its tokenizer, built on first ``encode``."""
        model, tokenizer = self._load()
        return model.eval(), tokenizer

    def _load(self) -> tuple[nn.Module, Callable[[list[str]], torch.Tensor]]:
        """A fresh copy of the model (image tower dropped) and its tokenizer."""
        open_clip = _open_clip()
        file = self.weights_file
        torchscript = _is_torchscript(file)
        try:
            with warnings.catch_warnings():  # torch.load's note that it hands TorchScript to torch.jit.load
                warnings.filterwarnings("ignore", message=".*TorchScript archive.*")
                model = open_clip.create_model(
                    self.model_name, pretrained=str(file), force_quick_gelu=True, weights_only=not torchscript
                )
        except (RuntimeError, ValueError, KeyError) as error:
            raise LtbenchError(
                f"CLIP weights file {file} does not fit {self.model_name} ({type(error).__name__}); pass "
                f"text.weights=/path/to/{self.model_name}.pt holding OpenAI or open_clip weights of that model."
            ) from error
        model.visual = nn.Identity()  # only the text tower is used; free the image tower's memory
        return model, open_clip.get_tokenizer(self.model_name)

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
