"""Zero-shot CLIP (Radford et al., ICML 2021) as a method that only evaluates.

``preset: ensemble`` (default): each class's text is CLIP's 80 ImageNet
templates with the full class name, each L2-normalised, averaged and
normalised again; the image is CLIP's global embedding; the score is the
cosine times CLIP's temperature. ``preset: lmpt_compat`` reproduces LMPT's
baseline (``zero_shot_clip/test.py``), whose numbers (VOC-LT 85.05, COCO-LT
60.17 with ViT-B/16) later papers quote: the 80 templates joined into one
string cut to 76 characters, its label files' names cut to their first word
(VOC's "diningtable", COCO's "traffic"), CLIP's preprocess (shorter side
resized, centre crop), and a softmax over classes per image at temperature 100
(``zero_shot_clip/test.py`` ranks ``Softmax(dim=1)`` of the logits; ltbench
ranks their log-softmax, which orders every class's images alike without
underflowing to ties). Its test set skips unlabelled images: the
``zsclip_lmpt`` dataset configs set ``dataset.test_images: labelled`` for that,
and ``method.resize: pil_bicubic``, CLIP's preprocess on a PIL image.
"""

from __future__ import annotations

import torch
from torch import nn

from ltbench.errors import check_choice
from ltbench.methods.base import MethodContext, MethodParts, SplitModel
from ltbench.methods.clip_common import clip_backbone, clip_class_names, clip_transforms
from ltbench.models.clip_heads import ZeroShotHead
from ltbench.models.prompts import ensemble_text_embeddings, imagenet_templates, lmpt_compat_prompts
from ltbench.registry import METHODS

PRESETS = ("ensemble", "lmpt_compat")
LMPT_TEMPERATURE = 100.0  # LMPT's baseline hard-codes CLIP's temperature


@METHODS.register("zsclip", uses=("model",))
def zsclip(ctx: MethodContext, preset: str = "ensemble", names: str | None = None,
           resize: str = "bicubic") -> MethodParts:
    """Zero-shot CLIP: 80-template ensemble, full class names, no training (preset lmpt_compat: LMPT's baseline); names: null = the preset's (annotation for lmpt_compat, else readable)."""
    check_choice("method.preset", preset, PRESETS)
    backbone = clip_backbone(ctx, "zsclip").freeze_all()
    tower, templates, compat = backbone.text_tower, imagenet_templates(), preset == "lmpt_compat"
    # LMPT's label files write VOC's names as the annotations do (zero_shot_clip/test.py reads data/voc/voc_labels.txt)
    class_names = clip_class_names(ctx, names or ("annotation" if compat else "readable"))
    if compat:
        prompts = lmpt_compat_prompts(class_names, templates)
        head = ZeroShotHead(tower.encode(prompts).detach(), torch.tensor(LMPT_TEMPERATURE).log())
    else:
        head = ZeroShotHead(ensemble_text_embeddings(tower, class_names, templates), tower.logit_scale)
    no_training = nn.BCEWithLogitsLoss()  # required by the contract, never called: there is no stage
    return MethodParts(model=SplitModel(backbone, head), loss=no_training, stages=[],
                       score="log_softmax" if compat else "logit",
                       **clip_transforms(backbone, flip=False, crop=compat, resize=resize))
