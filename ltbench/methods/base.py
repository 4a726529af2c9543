"""What a method is: given the resolved config and the dataset, a model and a loss.

The engine does the rest. A model maps images to logits and is split into
``backbone`` (images -> B x D x h x w feature map) and ``head`` (feature map ->
B x C logits) so that the engine can cache features of a frozen backbone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ltbench.data.base import LTDataset
from ltbench.registry import BACKBONES, TEXT_ENCODERS, resolve_params


class SplitModel(nn.Module):
    """``head(backbone(images))``; the split point is where features may be cached."""

    def __init__(self, backbone: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(images))


@dataclass
class MethodParts:
    """What a method hands the engine."""

    model: SplitModel
    loss: nn.Module  # (logits B x C, targets B x C float) -> scalar


@dataclass
class MethodContext:
    """Everything a method may read to build itself; records the defaults it filled in."""

    config: dict[str, Any]
    dataset: LTDataset
    resolved: dict[str, Any] = field(default_factory=dict)  # config sections completed with defaults
    provenance: dict[str, str] = field(default_factory=dict)  # where weights and embeddings came from

    def backbone(self) -> nn.Module:
        """The backbone named in ``model.backbone`` with the ``model`` section's options."""
        model_cfg = dict(self.config["model"])
        name = model_cfg.pop("backbone")
        params = resolve_params(BACKBONES, name, model_cfg)
        self.resolved["model"] = {"backbone": name, **params}
        backbone = BACKBONES.build(name, **params)
        self.provenance["backbone"] = f"{name}: {backbone.source}"
        return backbone

    def text_embeddings(self) -> torch.Tensor:
        """``C x E`` embeddings of the class names by the ``text`` section's encoder, cached on disk."""
        from ltbench.text.cache import encode_cached

        text_cfg = dict(self.config["text"])
        name, template = text_cfg.pop("encoder"), text_cfg.pop("template")
        params = resolve_params(TEXT_ENCODERS, name, text_cfg)
        self.resolved["text"] = {"encoder": name, "template": template, **params}
        encoder = TEXT_ENCODERS.build(name, **params)
        self.provenance["text_encoder"] = f"{name}: {encoder.source}"
        return encode_cached(encoder, self.dataset.class_names, template)

    def loss(self, default: str) -> nn.Module:
        """The loss in the ``loss`` section, or ``default`` when it names none."""
        from ltbench.losses import build_loss

        loss_cfg = dict(self.config.get("loss") or {})
        loss_cfg["name"] = loss_cfg.get("name") or default
        module, resolved = build_loss(loss_cfg, self.dataset.stats)
        self.resolved["loss"] = resolved
        return module
