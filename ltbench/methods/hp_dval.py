"""HP-DVAL (Huang, Yan et al., IEEE TIP; arXiv 2509.17747; jiexuanyan/hp_dval): two stages on CLIP.

``preset: paper`` (default), as the paper describes it:
- student: CLIP's own image tower (the paper says an ImageNet-1K ViT-B/16;
  the authors' runs start from CLIP's, and ltbench offers only that) and a
  two-layer embedding head mapping its CLS and patch tokens into the text space;
- teacher: a frozen copy of the CLIP image tower; L_kd = L1 between its
  image embedding and the student's projected CLS (both L2-normalised: an
  assumption, the paper does not say);
- scores: s_i = alpha * cos(P_i, CLS) + (1 - alpha) * mean top-k_j cos(P_i, patch j),
  k = 32, alpha = 0.4, times CLIP's temperature;
- stage ``align``: P_i = CLIP text of "a photo of a [CLASS]."; L_cls + L_kd;
  student and embedding head train (AdamW 1e-5, wd 1e-4, 20 epochs, batch 32);
- stage ``prompts``: student and embedding head frozen; class-shared contexts
  of 4 tokens for the global view and for the local view (N(0, 0.02));
  L_cls + L_sc, L_sc = L1 between the hand-crafted and the learned global text
  (AdamW 5e-6, 10 epochs);
- L_cls: ``db_star`` (DB with class i's positive logit scaled by n_i / max n_j).

``preset: code``, what the public repository's ``models/clip_vit.py``
(``CLIPVIT``, the model the published checkpoints' names point to) runs:
teacher = student (no L_kd); no embedding head (the CLS and patch tokens
both through CLIP's ``visual.proj``); the top-k mean of the raw patch scores
and the raw global scores each L2-normalised across classes, no temperature;
alpha weights the local branch, k = 16, alpha = 0.5; L_sc on the local
prompt; the text tower trains in stage 1 (a trainable copy here); stage 2
starts again from the weights stage 1 started from (the repository does not
load stage 1's weights) and trains only the prompts. Its loss and recipe live in the
``hp_dval_code`` dataset configs: ``db_star`` with a constant ``pos_scale``
(COCO 5.0 / lambda 2.0 / mu 0.2; VOC 10.0 / 5.0 / 0.3) and
``focal_reduction: batch_mean``, OneCycle over 80 epochs (pct_start 0.1),
EMA 0.998, batch 16, CutoutPIL + RandAugment, ``model.normalize: false``.
The published 93.06 / 76.19 are stage-1 EMA checkpoints, so that preset sets
``prompt_epochs: 0``: only stage 1 runs and its final EMA model is reported.
"""

from __future__ import annotations

import copy

import torch

from ltbench.data.transforms import to_float_images
from ltbench.errors import check_choice
from ltbench.methods.base import BatchInputs, EpochInfo, MethodContext, MethodParts, SplitModel, Stage
from ltbench.methods.clip_common import clip_backbone, clip_class_names, clip_transforms
from ltbench.models.clip_image import split_tokens
from ltbench.models.hp_dval import HPDValHead
from ltbench.registry import METHODS

PRESETS = ("paper", "code")


@METHODS.register("hp_dval", loss="db_star", uses=("model", "loss"))
def hp_dval(ctx: MethodContext, preset: str = "paper", k: int | None = None, alpha: float | None = None,
            n_ctx: int = 4, align_epochs: int = 20, prompt_epochs: int = 10, align_lr: float = 1e-5,
            prompt_lr: float = 5e-6, flip: bool = True, names: str = "readable") -> MethodParts:
    """HP-DVAL: dual-view alignment with a CLIP teacher, then hierarchical global/local prompts (preset paper|code)."""
    check_choice("method.preset", preset, PRESETS)
    code = preset == "code"
    backbone = clip_backbone(ctx, "hp_dval")
    teacher = None if code else copy.deepcopy(backbone).freeze_all()  # outside the model: never checkpointed
    head = HPDValHead(backbone.out_channels, backbone.text_tower, clip_class_names(ctx, names),
                      k=k if k is not None else (16 if code else 32),
                      alpha=alpha if alpha is not None else (0.5 if code else 0.4), n_ctx=n_ctx, code=code)
    model = SplitModel(backbone, head)
    start = copy.deepcopy(backbone.state_dict()) if code else None
    cls_loss = ctx.loss()

    def enter_stage(info: EpochInfo) -> None:
        """Which class text the head scores against; the engine freezes what the stage does not train."""
        head.stage = info.stage_index + 1

    def enter_prompts(_: torch.nn.Module) -> None:
        """Drop stage 1's last gradients (the student is frozen now); the code preset restarts from CLIP."""
        model.zero_grad(set_to_none=True)
        if start is not None:
            backbone.load_state_dict(start)

    def batch_loss(inputs: BatchInputs) -> torch.Tensor:
        images, targets = inputs.batch[:2]
        features = inputs.features(images)
        logits = inputs.model.head(features)
        loss = cls_loss(logits, targets.to(logits.device))
        if head.stage == 2:
            return loss + head.consistency_loss()
        if teacher is not None:
            with torch.no_grad():
                teacher_global, _ = split_tokens(teacher.to(logits.device)(to_float_images(images, logits.device)))
            loss = loss + head.distillation_loss(split_tokens(features)[0], teacher_global)
        return loss

    align_train = ("backbone", "head.stage1_text") if code else ("backbone", "head.embed")
    prompt_train = ("head.prompts",)
    stages = [Stage("align", epochs=align_epochs, train=align_train, optimizer={"lr": align_lr})]
    if prompt_epochs > 0:  # 0: stage 1's (EMA) model is the reported one, as the code's published checkpoints are
        stages.append(Stage("prompts", epochs=prompt_epochs, train=prompt_train, optimizer={"lr": prompt_lr},
                            on_start=enter_prompts))
    transforms = {} if code else clip_transforms(backbone, flip)  # the code's input.augment (RandAugment) applies
    return MethodParts(model=model, loss=cls_loss, stages=stages, on_epoch=[enter_stage], batch_loss=batch_loss, **transforms)
