"""CoOp (Zhou et al., IJCV 2022) as the long-tailed multi-label papers run it, and LMPT on top of it.

CoOp: 16 learnable context tokens per class (class-specific), initialised
N(0, 0.02), before the class-name tokens; CLIP's image and text towers stay
frozen and only the contexts train; logit = exp(logit_scale) * cos(image,
text). The contexts are fp32 even when the towers run in half precision.
LMPT's runs (SGD 5e-4, momentum 0.9, wd 1e-4, batch 64, 50 epochs, flip)
stepped ReduceLROnPlateau on TEST mAP; ltbench's recipe uses a cosine
schedule instead (configs/clip_prompt_recipe.yaml). LMPT's ``lmpt/train.py``,
which produced the CoOp and LMPT numbers the papers quote, ranks test images
by ``Softmax(dim=1)`` over classes: ``method.score: log_softmax`` (the
default) ranks alike; ``logit`` ranks each class by its own logit.
"""

from __future__ import annotations

from ltbench.errors import check_choice
from ltbench.methods.base import SCORE_FUNCTIONS, MethodContext, MethodParts, SplitModel, Stage
from ltbench.methods.clip_common import clip_backbone, clip_class_names, clip_transforms
from ltbench.models.clip_heads import PromptHead
from ltbench.models.prompts import PromptContext, PromptedText
from ltbench.registry import METHODS


def prompt_model(ctx: MethodContext, method: str, n_ctx: int, init_std: float, names: str) -> SplitModel:
    """Frozen CLIP image tower -> cosine against class-specific prompted text through the frozen text tower."""
    backbone = clip_backbone(ctx, method).freeze_all()
    tower = backbone.text_tower
    context = PromptContext(tower, clip_class_names(ctx, names), n_ctx, class_specific=True, init_std=init_std)
    return SplitModel(backbone, PromptHead(PromptedText(tower, context)))


def checked_score(score: str) -> str:
    check_choice("method.score", score, tuple(SCORE_FUNCTIONS))
    return score


@METHODS.register("coop", loss="bce", uses=("model", "loss"))
def coop(ctx: MethodContext, n_ctx: int = 16, init_std: float = 0.02, flip: bool = True,
         score: str = "log_softmax", names: str = "readable", resize: str = "bicubic") -> MethodParts:
    """CoOp: class-specific learnable prompt contexts on frozen CLIP towers (BCE on sigmoid of scaled cosine)."""
    model = prompt_model(ctx, "coop", n_ctx, init_std, names)
    return MethodParts(model=model, loss=ctx.loss(), stages=[Stage(train=("head.text.context",))],
                       score=checked_score(score), **clip_transforms(model.backbone, flip, resize=resize))
