"""What every CLIP method needs from its context: a CLIP backbone, CLIP's transforms, captions or toy captions."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from ltbench.data.captions import read_captions
from ltbench.errors import LtbenchError
from ltbench.methods.base import MethodContext
from ltbench.models.clip_image import ClipImageBackbone, clip_image_transform

TOY_CAPTIONS = "labels"  # method.captions=labels: captions made from the labels, for smoke runs only


def clip_backbone(ctx: MethodContext, method: str) -> ClipImageBackbone:
    """The ``model.backbone`` if it is a CLIP image tower, else a one-sentence error."""
    backbone = ctx.backbone()
    if not isinstance(backbone, ClipImageBackbone):
        raise LtbenchError(f"Method {method} needs a CLIP image tower; pass model.backbone=clip_vit_b16 "
                           "(or clip_rn50).")
    return backbone


def clip_class_names(ctx: MethodContext, names: str) -> list[str]:
    """The class names the prompts use: ``readable`` ("potted plant", ltbench's default) or ``annotation``.

    ``annotation`` is VOC's "pottedplant", "diningtable", "tvmonitor" as the
    CLIP methods' authors prompt with them (LMPT ``lmpt/train.py:90-95``,
    HP-DVAL's ``dataset_classes``); their presets set ``method.names: annotation``.
    """
    return ctx.dataset.prompt_names(names, "method.names")


def clip_transforms(backbone: ClipImageBackbone, flip: bool, crop: bool = False, resize: str = "bicubic") -> dict:
    """CLIP's bicubic resize to the tower's own size, with a horizontal flip in training when ``flip``.

    Without ``flip`` the method names no train transform, so that the engine
    may train on cached features (computed with the test transform) when
    nothing upstream of the head trains. ``crop``: CLIP's preprocess (shorter
    side, centre crop) at test time. ``resize``: ``pil_bilinear`` resizes as
    LMPT's loader does (``clip_image_transform``).
    """
    size = backbone.image_size
    return {"train_transform": clip_image_transform(size, flip=True, resize=resize) if flip else None,
            "test_transform": clip_image_transform(size, crop=crop, resize=resize)}


def training_captions(ctx: MethodContext, path: str | None, option: str) -> list[str]:
    """Captions of the training images from the user's file; ``labels`` writes toy ones from the labels."""
    if path == TOY_CAPTIONS:
        names = ctx.dataset.class_names
        return ["a photo of " + " and ".join(names[c] for c in np.flatnonzero(row)) + "."
                for row in ctx.dataset.train.targets]
    return read_captions(path, ctx.dataset.train.ids, option)


class WithIndex(Dataset):
    """A dataset's items with their index appended, so a step can look up per-image data (captions)."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> tuple:
        return (*self.dataset[index], torch.tensor(index))
