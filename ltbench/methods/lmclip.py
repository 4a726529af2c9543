"""LM-CLIP (Timmermann et al., IEEE Access 2025; damilab/lm-clip @ 9983999): fine-tune all of CLIP with BAL.

The only CLIP method here that trains both towers. Loss of a batch =
contrastive(image b, caption b) + ``asl_mul`` * BAL(scores, labels)
(model_openai_clip.py:372-385): the caption of a training image is
"a photo of a " + its class names joined by ", " (dataset_loaders/voc_mlt.py:128-134,
``use_dataset_train_captions = False`` in every config), the contrastive term is
CLIP's with the diagonal as the only positives (``ltbench.losses.contrastive``),
the scores are exp(logit_scale) * cos(image, "a photo of a <class>")
and BAL is ``ltbench.losses.bal``. Images are drawn by the
``inverse_frequency`` sampler (train.sampler, configs/<dataset>/lmclip.yaml).
Test images are ranked by a softmax over classes, as test.py:100,138 does
(``score: log_softmax`` ranks alike).

Names in the captions are in class-index order (the code keeps each split-file
line's order, which ltbench's multi-hot targets do not record), and the
tokenizer cuts a caption over 77 tokens where the code drops its last words.
"""

from __future__ import annotations

import numpy as np
import torch

from ltbench.errors import check_choice
from ltbench.losses.contrastive import image_text_contrastive
from ltbench.methods.base import BatchInputs, MethodContext, MethodParts, SplitModel, Stage
from ltbench.methods.clip_common import WithIndex, clip_backbone, clip_transforms
from ltbench.methods.coop import checked_score
from ltbench.models.clip_image import split_tokens
from ltbench.models.lmclip import LMClipHead
from ltbench.registry import METHODS

NAMES = ("readable", "annotation")


def label_captions(prefix: str, names: list[str], targets: np.ndarray) -> list[str]:
    """LM-CLIP's caption of each image: ``prefix`` + its class names joined by ", " (class-index order)."""
    return [prefix + ", ".join(names[c] for c in np.flatnonzero(row)) for row in targets]


@METHODS.register("lmclip", loss="bal", uses=("model", "loss"))
def lmclip(ctx: MethodContext, asl_mul: float = 0.4, prefix: str = "a photo of a ", names: str = "readable",
           flip: bool = True, score: str = "log_softmax") -> MethodParts:
    """LM-CLIP: both CLIP towers fine-tuned with CLIP's contrastive loss on label captions + asl_mul * BAL."""
    check_choice("method.names", names, NAMES)
    backbone = clip_backbone(ctx, "lmclip")
    class_names = ctx.dataset.prompt_names(names)
    head = LMClipHead(backbone.text_tower, [prefix + name for name in class_names])
    captions = head.tower.tokenize(label_captions(prefix, class_names, ctx.dataset.train.targets)).cpu()
    bal = ctx.loss()

    def batch_loss(inputs: BatchInputs) -> torch.Tensor:
        images, targets, index = inputs.batch[:3]
        image, _ = split_tokens(inputs.features(images))
        text = head.encode(torch.cat([head.class_tokens, captions[index.cpu()].to(image.device)]))
        class_text, caption_text = text[:head.num_classes], text[head.num_classes:]
        contrastive = image_text_contrastive(image, caption_text, head.logit_scale.exp())
        return contrastive + asl_mul * bal(head.scores(image, class_text), targets.to(image.device))

    return MethodParts(model=SplitModel(backbone, head), loss=bal, stages=[Stage()], batch_loss=batch_loss,
                       train_dataset=lambda dataset, targets: WithIndex(dataset), score=checked_score(score),
                       **clip_transforms(backbone, flip))
