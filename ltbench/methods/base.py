"""The method contract: what a method hands the engine, with a default for everything.

A method is a registered factory ``fn(ctx: MethodContext, **params) -> MethodParts``.
The model maps images to logits and is split into ``backbone`` (images -> features)
and ``head`` (features -> logits), so that the engine can cache the features of a
backbone that does not train. Everything else the engine would otherwise decide
(stages and what trains in each, samplers, optimizer overrides, parameter groups,
transforms, per-epoch switches, the loss of a batch, the score function that
turns test logits into what AP ranks) the method may say here; the engine asks
instead of inspecting the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from ltbench.data.base import LTDataset
from ltbench.errors import LtbenchError, check_choice
from ltbench.provenance import weights_description, weights_record
from ltbench.registry import BACKBONES, TEXT_ENCODERS

Transform = Callable[[np.ndarray], torch.Tensor]
NamedParams = list[tuple[str, nn.Parameter]]

# What AP ranks, from the head's float32 logits (docs/scores.md). Both are exact in float32 at any logit
# scale, where a float32 sigmoid is exactly 1.0 for every logit >= 16.7 and ties the images above it.
SCORE_FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "logit": lambda logits: logits,  # ranks each class's images as its sigmoid does
    "log_softmax": lambda logits: logits.log_softmax(dim=-1),  # ranks as a softmax over classes (LMPT's code)
}


class SplitModel(nn.Module):
    """``head(backbone(images))``; the split point is where features may be cached."""

    def __init__(self, backbone: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(images))


@dataclass
class Stage:
    """One training stage. Stage k starts from stage k-1's weights within one run, and resumes on its own.

    ``train`` lists name prefixes of the model's parameters that train (``("head",)``);
    ``None`` trains every parameter that requires a gradient. When only the head
    trains, the engine may cache the backbone's features.

    ``optimizer``, ``schedule`` and ``sampler`` follow one rule, the one config layers
    follow: each is laid over the config's ``train.optimizer`` / ``train.schedule`` /
    ``train.sampler`` section, its keys winning; naming another component (``{"name":
    "sgd"}``) drops the config's component parameters but keeps the section's engine keys
    (the optimizer's ``lr``, ``weight_decay``). A bare name is short for ``{"name": ...}``.
    """

    name: str = "train"
    epochs: int | None = None  # None: train.epochs
    train: tuple[str, ...] | None = None
    optimizer: dict[str, Any] | None = None
    schedule: dict[str, Any] | None = None
    sampler: str | dict[str, Any] | None = None  # None: train.sampler as it is
    on_start: Callable[[nn.Module], None] | None = None  # e.g. a fresh classifier (cRT)

    def trains(self, name: str) -> bool:
        return self.train is None or any(name == p or name.startswith(p + ".") for p in self.train)

    @property
    def head_only(self) -> bool:
        return self.train is not None and all(p == "head" or p.startswith("head.") for p in self.train)


@dataclass(frozen=True)
class EpochInfo:
    """Where training stands, given to per-epoch hooks and a method's own batch loss."""

    stage: str
    stage_index: int
    epoch: int  # 1-based within the stage
    epochs: int  # of this stage
    global_epoch: int


@dataclass
class BatchInputs:
    """What a method's own ``MethodParts.batch_loss`` receives for one training batch."""

    batch: tuple[Any, ...]  # as the (possibly wrapped) train loader yields it: inputs, targets, ...
    features: Callable[[torch.Tensor], torch.Tensor]  # loader inputs -> backbone features on the device
    model: SplitModel
    loss: nn.Module
    info: EpochInfo


@dataclass
class MethodParts:
    """What a method hands the engine; only ``model`` and ``loss`` are required."""

    model: SplitModel
    loss: nn.Module  # (logits B x C float, targets B x C float) -> scalar
    stages: list[Stage] = field(default_factory=lambda: [Stage()])  # [] = evaluate only (zero-shot)
    param_groups: Callable[[NamedParams, dict[str, Any]], list[dict[str, Any]]] | None = None
    on_epoch: list[Callable[[EpochInfo], None]] = field(default_factory=list)  # at every epoch's start
    batch_loss: Callable[[BatchInputs], torch.Tensor] | None = None  # None: loss(head(features(x)), y)
    train_transform: Transform | None = None  # None: the input.augment pipeline
    test_transform: Transform | None = None  # None: resize to input.size
    train_dataset: Callable[[Dataset, np.ndarray], Dataset] | None = None  # wrap the engine's (e.g. pairs)
    score: str = "logit"  # a SCORE_FUNCTIONS name: what the test logits are ranked by (its published form's)

    def __post_init__(self) -> None:
        check_choice("MethodParts.score", self.score, tuple(SCORE_FUNCTIONS))


@dataclass
class MethodContext:
    """What a method may read to build itself: the resolved config and the dataset."""

    config: dict[str, Any]
    dataset: LTDataset
    provenance: dict[str, str] = field(default_factory=dict)  # where weights and embeddings came from, in words
    weights: dict[str, dict[str, str]] = field(default_factory=dict)  # part -> provenance.weights_record

    def backbone(self) -> nn.Module:
        """The backbone named in ``model.backbone`` with the ``model`` section's options."""
        params = dict(self.config["model"])
        name = params.pop("backbone")
        backbone = BACKBONES.build(name, **params)
        self._record_weights("backbone", name, backbone.source)
        return backbone

    def _record_weights(self, part: str, name: str, source: str) -> None:
        """A part's weights by source name and digest, never by this machine's absolute path."""
        self.provenance[part] = f"{name}: {weights_description(source)}"
        self.weights[part] = weights_record(source)

    def stage(self, **options: Any) -> Stage:
        """A stage that trains only the head when ``model.freeze`` is ``all`` (so features may be cached)."""
        frozen = self.config.get("model", {}).get("freeze") == "all"
        return Stage(**({"train": ("head",)} if frozen else {}), **options)

    def text_embeddings(self) -> torch.Tensor | nn.Module:
        """``C x E`` embeddings of the class names by the ``text`` section's encoder, cached on disk.

        With ``text.trainable`` it is instead the encoder's text tower, a module whose
        ``forward()`` re-encodes the prompts, for a head that trains it (CPRFL's code).
        """
        from ltbench.text.cache import encode_cached

        params = dict(self.config["text"])
        name, template, trainable = params.pop("encoder"), params.pop("template"), params.pop("trainable")
        names = self.dataset.prompt_names(params.pop("names", "readable"))
        encoder = TEXT_ENCODERS.build(name, **params)
        self._record_weights("text_encoder", name, encoder.source)
        if trainable:
            if not hasattr(encoder, "trainable_tower"):
                raise LtbenchError(f"text.trainable=true needs a text encoder with a tower to train "
                                   f"(clip-rn50, clip-vit-b16), not {name!r}.")
            return encoder.trainable_tower(names, template)
        return encode_cached(encoder, names, template)

    def loss(self) -> nn.Module:
        """The loss of the resolved ``loss`` section (the method's default unless the config names another)."""
        from ltbench.losses import build_loss

        return build_loss(self.config["loss"], self.dataset.stats)
