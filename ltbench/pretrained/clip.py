"""open_clip models with weights only from where the user allows, shared by CLIP's text and image sides.

Weights come from, in order: ``weights`` (a local checkpoint file), then a
copy already in the Hugging Face cache or open_clip's URL cache
(``~/.cache/clip``, or ``cache_dir`` for both), then, only with
``allow_download``, a download by open_clip. Nothing is fetched by default.
Tests build the same model classes from a small open_clip config dict with
random weights (``random_clip``), so nothing downloads there.
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
from ltbench.pretrained.hub_cache import cached_weights
from ltbench.paths import existing_file

PRETRAINED_TAG = "openai"  # OpenAI's weights, trained with QuickGELU
Tokenizer = Callable[[list[str]], torch.Tensor]


def open_clip_module() -> ModuleType:
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


class ClipWeights:
    """One open_clip architecture's OpenAI weights; errors name the ``section`` option (``text`` or ``model``)."""

    def __init__(self, name: str, model_name: str, section: str, weights: str | None = None,
                 allow_download: bool = False, cache_dir: str | None = None) -> None:
        self.name, self.model_name, self.section = name, model_name, section
        self.weights, self.allow_download, self.cache_dir = weights, allow_download, cache_dir

    @property
    def option(self) -> str:
        return f"{self.section}.weights=/path/to/{self.model_name}.pt"

    @cached_property
    def file(self) -> Path:
        """The local checkpoint to load; resolving it never downloads unless ``allow_download``."""
        if self.weights is not None:
            option = f"{self.option} (an OpenAI or open_clip checkpoint)"
            return existing_file(self.weights, f"The {self.name} weights file", option).resolve()
        open_clip = open_clip_module()
        config = open_clip.get_pretrained_cfg(self.model_name, PRETRAINED_TAG)
        cached = self._cached_file(config)
        if cached is not None:
            return cached
        if self.allow_download and config:
            return Path(open_clip.download_pretrained(config, cache_dir=self.cache_dir))
        raise LtbenchError(
            f"CLIP weights for {self.name} not found in the open_clip/Hugging Face cache; pass "
            f"{self.option} (or {self.section}.allow_download=true to let open_clip fetch them)."
        )

    def _cached_file(self, config: dict[str, Any]) -> Path | None:
        """Where open_clip would have put these weights, if a previous download left them there."""
        from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

        repo, filename = os.path.split(config.get("hf_hub", ""))
        return cached_weights(repo, [filename] if filename else [HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME],
                              config.get("url"), Path(self.cache_dir or "~/.cache/clip"), self.cache_dir)

    def load(self) -> nn.Module:
        """The whole open_clip model with these weights, in eval mode; a misfit file is one sentence."""
        file = self.file
        torchscript = _is_torchscript(file)
        try:
            with warnings.catch_warnings():  # torch.load's note that it hands TorchScript to torch.jit.load
                warnings.filterwarnings("ignore", message=".*TorchScript archive.*")
                model = open_clip_module().create_model(
                    self.model_name, pretrained=str(file), force_quick_gelu=True, weights_only=not torchscript
                )
        except (RuntimeError, ValueError, KeyError) as error:
            raise LtbenchError(
                f"CLIP weights file {file} does not fit {self.model_name} ({type(error).__name__}); pass "
                f"{self.option} holding OpenAI or open_clip weights of that model."
            ) from error
        return model.eval()

    def tokenizer(self) -> Tokenizer:
        return open_clip_module().get_tokenizer(self.model_name)


def random_clip(config: dict[str, Any]) -> tuple[nn.Module, Tokenizer]:
    """An open_clip CLIP built from a model-config dict (as in open_clip's JSON files) with random weights.

    The weights follow torch's global seed. The tokenizer is CLIP's BPE with
    the config's context length, so ``vocab_size`` must stay 49408.
    """
    open_clip = open_clip_module()
    params = {"quick_gelu": True, **config}
    try:
        model = open_clip.model.CLIP(**params)
    except TypeError as error:
        raise LtbenchError(f"The CLIP model config {config} is not an open_clip model config ({error}).") from None
    context = int(config.get("text_cfg", {}).get("context_length", 77))
    return model.eval(), open_clip.tokenizer.SimpleTokenizer(context_length=context)
