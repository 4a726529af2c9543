"""LMPT (Xia et al., ACL 2024 workshop; richard-peng-xia/LMPT): CoOp plus the class-specific embedding loss.

Total loss = ``cls_weight`` * L_cls + (1 - ``cls_weight``) * L_cse with
``cls_weight`` 0.5; L_cls is the DB loss as LMPT's code computes it
(``db_focal`` with ``focal_reduction: batch_mean``; VOC mu 0.3 / lambda 5,
COCO mu 0.2 / lambda 2 in the dataset configs); L_cse is
``ltbench.losses.cse`` (captions cut to 75 characters, CLIP token
embeddings, offset m = 2, margin 0.2 / q_c^(1/4), class weights (1/q_c)^2),
with the two fixes that make the committed code run (q_c the frequency
shares, weights normalised over classes; ``method.prior`` picks q_c). Test images are ranked by the
log-softmax over classes by default (``method.score``; see ``coop``).

Captions: the authors generated them with an image-captioning model; ltbench
reads ``method.captions``, a UTF-8 file with one ``<image id><TAB><caption>``
line per training image (ids as the split file lists them; see
``ltbench/data/captions.py``). ``method.captions=labels`` writes toy captions
from the labels ("a photo of cat and dog.") for smoke runs only: they leak
the labels, so its numbers mean nothing.
"""

from __future__ import annotations

import torch

from ltbench.methods.base import BatchInputs, MethodContext, MethodParts, Stage
from ltbench.methods.clip_common import WithIndex, clip_transforms, training_captions
from ltbench.methods.coop import checked_score, prompt_model
from ltbench.losses.cse import ClassSpecificEmbeddingLoss
from ltbench.registry import METHODS

CAPTION_CHARS = 75  # LMPT cuts each caption here before tokenising


@METHODS.register("lmpt", loss="db_focal", uses=("model", "loss"))
def lmpt(ctx: MethodContext, captions: str | None = None, n_ctx: int = 16, init_std: float = 0.02,
         cls_weight: float = 0.5, margin: float = 0.2, gamma: float = 2.0, offset: int = 2,
         flip: bool = True, score: str = "log_softmax", names: str = "readable",
         resize: str = "bicubic", prior: str = "share") -> MethodParts:
    """LMPT: CoOp + a caption-driven class-specific embedding loss (method.captions=/path/to/captions.tsv)."""
    texts = training_captions(ctx, captions, "method.captions")
    model = prompt_model(ctx, "lmpt", n_ctx, init_std, names)
    prompted = model.head.text
    caption_tokens = prompted.tower.tokenize([text[:CAPTION_CHARS] for text in texts]).cpu()
    cse = ClassSpecificEmbeddingLoss(ctx.dataset.class_freq, margin, gamma, offset, prior)
    cls_loss = ctx.loss()

    def batch_loss(inputs: BatchInputs) -> torch.Tensor:
        images, targets, index = inputs.batch[:3]
        logits = inputs.model.head(inputs.features(images))
        targets = targets.to(logits.device)
        caption_embeddings = prompted.tower.embed(caption_tokens[index.cpu()].to(logits.device))
        cse_loss = cse.to(logits.device)(caption_embeddings, prompted.context(), targets)
        return cls_weight * cls_loss(logits, targets) + (1 - cls_weight) * cse_loss

    return MethodParts(model=model, loss=cls_loss, stages=[Stage(train=("head.text.context",))], batch_loss=batch_loss,
                       train_dataset=lambda dataset, targets: WithIndex(dataset), score=checked_score(score),
                       **clip_transforms(model.backbone, flip, resize=resize))
