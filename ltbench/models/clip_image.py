"""CLIP image towers (open_clip ViT-B/16 and RN50) as backbones giving global and local joint-space tokens.

Output layout (B x E x 1 x (1 + L)): a 1 x (1 + L) "feature map" whose
column 0 is CLIP's global image embedding and columns 1.. its L local tokens,
all in the E-d joint space where text embeddings live. Keeping the 4-d
feature-map shape lets every head and the feature cache take it as they take
any backbone's; CLIP heads split it with ``split_tokens``.

- ViT-B/16: the CLS token and the 14 x 14 = 196 patch tokens after
  ``ln_post``, each projected with CLIP's own ``visual.proj``.
- RN50: the attention pool's output; the local tokens are the attention
  pool's value -> output path applied at each of the 7 x 7 positions (the
  dense-CLIP reading of MaskCLIP, Zhou et al. ECCV 2022): CLIP never trained
  that path per position, so those tokens are weaker than ViT patches.

Weights load exactly as the CLIP text encoder's (``ltbench.pretrained.clip``),
named by the ``model`` section (``model.weights``, ``model.allow_download``).
``model.config`` instead builds the same classes from a small open_clip
model-config dict with random weights, which is what tests use
(``model.pretrained=false``: the named architecture with random weights).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ltbench.pretrained.clip import ClipWeights, open_clip_module, random_clip
from ltbench.errors import check_choice
from ltbench.models.backbones import IMAGENET_MEAN, IMAGENET_STD
from ltbench.models.clip_text import ClipTextTower
from ltbench.registry import BACKBONES

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
MEAN_STD = {"clip": (CLIP_MEAN, CLIP_STD), "imagenet": (IMAGENET_MEAN, IMAGENET_STD)}
FREEZE_MODES = ("none", "all")
FROZEN_MODES = ("eval", "train")  # the mode a frozen tower is in while the model trains


def split_tokens(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A CLIP backbone's B x E x 1 x (1 + L) output -> global (B x E) and local (B x L x E) tokens."""
    tokens = features.flatten(2).transpose(1, 2)
    return tokens[:, 0], tokens[:, 1:]


class ClipImageBackbone(nn.Module):
    """CLIP's image tower with its own preprocessing; methods whose tower must not train call ``freeze_all``."""

    def __init__(self, clip: nn.Module, tokenizer: Callable, source: str, freeze: str = "none",
                 bn_eval: bool = False, normalize: bool = True, mean_std: str = "clip",
                 frozen_mode: str = "eval") -> None:
        super().__init__()
        check_choice("model.freeze", freeze, FREEZE_MODES)
        check_choice("model.frozen_mode", frozen_mode, FROZEN_MODES)
        # train: a frozen tower follows the model into train mode, so RN50's BatchNorm normalises with batch
        # statistics and updates its running ones, as LMPT's model.train() does (lmpt/train.py:184)
        self.frozen_mode = frozen_mode
        check_choice("model.mean_std", mean_std, tuple(MEAN_STD))
        self.visual = clip.visual
        # persistent, so that the feature cache's weights digest tells the normalisations apart;
        # normalize=false: HP-DVAL's code feeds [0, 1] pixels; mean_std=imagenet: LMPT's CoOp and LMPT runs
        mean, std = MEAN_STD[mean_std] if normalize else ((0.0,) * 3, (1.0,) * 3)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))
        size = self.visual.image_size
        self.image_size = int(size[0] if isinstance(size, (tuple, list)) else size)
        self.out_channels = int(clip.text_projection.shape[-1] if clip.text_projection is not None
                                else clip.token_embedding.weight.shape[1])
        self.source = source
        self.frozen = False
        self.bn_eval = bn_eval
        self._text = (ClipTextTower(clip, tokenizer),)  # a tuple: the text tower is not part of the backbone
        if freeze == "all":
            self.freeze_all()

    def freeze_all(self) -> "ClipImageBackbone":
        """No weight of the tower trains or keeps a gradient, and it stays in eval mode."""
        self.frozen = True
        self.visual.requires_grad_(False)
        return self.eval()

    @property
    def text_tower(self) -> ClipTextTower:
        """The text tower of the same CLIP model (heads that need it register it themselves)."""
        return self._text[0]

    def train(self, mode: bool = True) -> "ClipImageBackbone":
        super().train(mode and (not self.frozen or self.frozen_mode == "train"))
        for module in self.modules() if self.bn_eval else ():  # RN50's BatchNorm statistics stay fixed
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
        return self

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.shape[-1] != self.image_size or images.shape[-2] != self.image_size:
            # a safety net for the engine's default pipeline; CLIP methods' own transforms resize already
            images = F.interpolate(images, size=(self.image_size, self.image_size), mode="bicubic",
                                   align_corners=False).clamp(0, 1)
        dtype = next(self.visual.parameters()).dtype
        images = ((images - self.mean) / self.std).to(dtype)
        tokens = self._vit_tokens(images) if hasattr(self.visual, "transformer") else self._resnet_tokens(images)
        return tokens.transpose(1, 2).unsqueeze(2)

    def _vit_tokens(self, images: torch.Tensor) -> torch.Tensor:
        visual = self.visual
        x = visual.ln_post(visual.transformer(visual._embeds(images)))
        return x @ visual.proj

    def _resnet_tokens(self, images: torch.Tensor) -> torch.Tensor:
        visual = self.visual
        x = visual.layer4(visual.layer3(visual.layer2(visual.layer1(visual.stem(images)))))
        pool = visual.attnpool
        pooled = pool(x)
        spatial = x.flatten(2).transpose(1, 2) + pool.positional_embedding[1:].to(x.dtype)
        local = pool.c_proj(pool.v_proj(spatial))
        return torch.cat([pooled.unsqueeze(1), local], dim=1)


RESIZE_MODES = ("bicubic", "pil_bilinear", "pil_bicubic")


def clip_image_transform(size: int, flip: bool = False, crop: bool = False,
                         resize: str = "bicubic") -> Callable[[np.ndarray], torch.Tensor]:
    """Bicubic resize of uint8 H x W x 3 to ``size`` x ``size`` (and a random flip when training).

    ``crop``: CLIP's own ``preprocess`` instead (clip/clip.py ``_transform``):
    the shorter side resized to ``size``, then the centre ``size`` x ``size``.
    ``resize="pil_bilinear"`` / ``"pil_bicubic"``: torchvision's resize (and
    crop) of a PIL image, as the authors' loaders run it: LMPT's
    ``Resize((224, 224))`` is PIL's bilinear (``lmpt/imagelist.py:50,56``), CLIP's
    own preprocess PIL's bicubic (``clip/clip.py`` ``_transform``, LMPT's
    zero-shot test). The tensor resize differs from PIL's by a grey level or two.
    """
    from ltbench._torchvision_compat import ensure_torchvision_importable

    check_choice("method.resize", resize, RESIZE_MODES)
    ensure_torchvision_importable()
    from torchvision.transforms import InterpolationMode, v2

    bicubic = InterpolationMode.BICUBIC
    if resize != "bicubic":
        steps = [_pil_resize(size, resize, crop)]
    else:
        steps = ([v2.Resize(size, interpolation=bicubic, antialias=True), v2.CenterCrop(size)] if crop
                 else [v2.Resize((size, size), interpolation=bicubic, antialias=True)])
    pipeline = v2.Compose(steps + [v2.RandomHorizontalFlip()] if flip else steps)

    def transform(image: np.ndarray) -> torch.Tensor:
        return pipeline(torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1))

    return transform


def _pil_resize(size: int, mode: str, crop: bool) -> Callable[[torch.Tensor], torch.Tensor]:
    """uint8 3 x H x W -> 3 x size x size through torchvision's PIL path (``pil_bilinear`` | ``pil_bicubic``)."""
    from PIL import Image
    from torchvision import transforms

    interpolation = {"pil_bilinear": transforms.InterpolationMode.BILINEAR,
                     "pil_bicubic": transforms.InterpolationMode.BICUBIC}[mode]
    steps = ([transforms.Resize(size, interpolation), transforms.CenterCrop(size)] if crop
             else [transforms.Resize((size, size), interpolation)])
    pipeline = transforms.Compose(steps)

    def resize(image: torch.Tensor) -> torch.Tensor:
        pil = pipeline(Image.fromarray(image.permute(1, 2, 0).numpy()))
        return torch.from_numpy(np.asarray(pil).copy()).permute(2, 0, 1)

    return resize


def _clip_backbone(name: str, model_name: str) -> Callable[..., ClipImageBackbone]:
    def factory(weights: str | None = None, pretrained: bool = True, allow_download: bool = False,
                cache_dir: str | None = None, config: dict[str, Any] | None = None, freeze: str = "none",
                bn_eval: bool = False, normalize: bool = True, mean_std: str = "clip",
                frozen_mode: str = "eval") -> ClipImageBackbone:
        if config is not None or not pretrained:
            clip, tokenizer = random_clip(config or open_clip_module().get_model_config(model_name))
            what = "model.config" if config is not None else model_name
            return ClipImageBackbone(clip, tokenizer, f"random init ({what})", freeze, bn_eval, normalize, mean_std,
                                     frozen_mode)
        source = ClipWeights(name, model_name, "model", weights, allow_download, cache_dir)
        return ClipImageBackbone(source.load(), source.tokenizer(), str(source.file), freeze, bn_eval, normalize,
                                 mean_std, frozen_mode)

    factory.__name__ = name
    factory.__doc__ = (f"CLIP {model_name} image tower (OpenAI weights via open_clip: model.weights file, else the "
                       "local cache; model.config={...} builds a random one), global + local joint-space tokens.")
    return factory


BACKBONES.register("clip_vit_b16")(_clip_backbone("clip_vit_b16", "ViT-B-16"))
BACKBONES.register("clip_rn50")(_clip_backbone("clip_rn50", "RN50"))
