"""MLC-NC (AAAI 2025, t1neo666/AAAI25_MLC-NC): long-tailed multi-label classification through neural collapse.

The head (``ltbench/models/mlcnc.py``) scores with fixed simplex-ETF label
queries and a fixed ETF classifier. Three losses, as its train.py combines
them (train.py:175-195; src_files/loss_functions/combinedloss.py:56-71):
- the classification loss on the logits, the two-way loss by default (``loss.name``);
- feature-label alignment (FLA) of each class's attended feature with its ETF query;
- a prototype contrastive loss of the projected features against class prototypes.
For the first ``warmup_epochs`` (5) only FLA trains (weight 1); then
two-way 1 + FLA 0.5 + prototype 0.1. With ``warmup_zero_terms`` the first
epochs keep the two other terms in the loss with weight 0, as train.py:178
does: their parameters (projection, ETF classifier, scale) then get zero
gradients rather than none, so the optimizer still steps them (weight decay,
Adam's step count), as it does in the code. The prototypes are the mean projected
feature of each class's positive (image, class) pairs over every training
batch so far, accumulated during training and refreshed at each epoch's
start (train.py:160-162,211-217,235-236): they live in the head as buffers, so a
resumed run continues with the same ones.

Switches the repository has and ltbench leaves off by default:
``train_classifier`` (its code sets the ETF classifier's requires_grad, train.py:177,180;
the paper's classifier is fixed) and ``test_flip`` (its test transform flips each
test image at random, get_voc.py:196 / get_coco.py:241). Its selection of the best
epoch on the test set is never a reported model in ltbench: with ``eval.interval 1``
``ltbench table --oracle`` shows that number apart.
"""

from __future__ import annotations

import torch

from ltbench.data.transforms import Transform, build_transform, v2
from ltbench.losses.neural_collapse import feature_label_alignment, prototype_contrastive
from ltbench.methods.base import BatchInputs, EpochInfo, MethodContext, MethodParts, SplitModel
from ltbench.models.mlcnc import MLCNCHead, MLCNCOutputs
from ltbench.registry import METHODS


class PrototypeMemory:
    """Running per-class sums of the projected features of positive pairs, kept as buffers of ``head``."""

    def __init__(self, head: MLCNCHead, num_classes: int, proj_dim: int) -> None:
        head.register_buffer("prototype_sum", torch.zeros(num_classes, proj_dim))
        head.register_buffer("prototype_count", torch.zeros(num_classes))
        head.register_buffer("prototypes", torch.zeros(num_classes, proj_dim))
        self.head = head

    @torch.no_grad()
    def add(self, projected: torch.Tensor, targets: torch.Tensor) -> None:
        """Add each positive pair's projected feature to its class's sum."""
        positives = (targets > 0).to(projected.dtype)  # B x C
        self.head.prototype_sum += torch.einsum("bc,bcd->cd", positives, projected).float()
        self.head.prototype_count += positives.sum(dim=0).float()

    @torch.no_grad()
    def refresh(self) -> None:
        """Prototypes = the mean so far; a class not yet seen keeps a zero prototype."""
        seen = self.head.prototype_count > 0
        self.head.prototypes[seen] = self.head.prototype_sum[seen] / self.head.prototype_count[seen, None]


def flipped_test_transform(size: int) -> Transform:
    """The repository's test input: each test image resized, then flipped with probability 0.5."""
    resize, flip = build_transform(size, "none", train=False), v2.RandomHorizontalFlip()
    return lambda image: flip(resize(image))


@METHODS.register("mlcnc", loss="two_way", uses=("model", "loss"))
def mlcnc(ctx: MethodContext, embed_dim: int = 768, heads: int = 8, proj_dim: int = 20, dropout: float = 0.1,
          warmup_epochs: int = 5, warmup_weight_fla: float = 1.0, weight_cls: float = 1.0, weight_fla: float = 0.5,
          weight_prototype: float = 0.1, prototype_temperature: float = 0.5, train_classifier: bool = False,
          test_flip: bool = False, warmup_zero_terms: bool = False) -> MethodParts:
    """MLC-NC (AAAI 2025): ETF label queries and ETF classifier; two-way + feature-label alignment + prototype losses."""
    backbone = ctx.backbone()
    classes = ctx.dataset.num_classes
    head = MLCNCHead(backbone.out_channels, classes, embed_dim, heads, proj_dim, dropout, train_classifier)
    memory = PrototypeMemory(head, classes, proj_dim)
    cls_loss = ctx.loss()
    warming = {"now": True}

    def enter_epoch(info: EpochInfo) -> None:
        memory.refresh()
        warming["now"] = info.global_epoch <= warmup_epochs

    def batch_loss(inputs: BatchInputs) -> torch.Tensor:
        images, targets = inputs.batch[:2]
        out: MLCNCOutputs = inputs.model.head.outputs(inputs.features(images))
        targets = targets.to(out.logits.device)
        fla = feature_label_alignment(out.attended, head.queries, targets)
        memory.add(out.projected.detach(), targets)
        if warming["now"] and not warmup_zero_terms:
            return warmup_weight_fla * fla
        w_prototype, w_cls, w_fla = (0.0, 0.0, warmup_weight_fla) if warming["now"] else \
            (weight_prototype, weight_cls, weight_fla)
        prototype = prototype_contrastive(out.projected, head.prototypes, targets, prototype_temperature)
        return w_prototype * prototype + w_cls * cls_loss(out.logits, targets) + w_fla * fla  # the code's order

    test_transform = flipped_test_transform(ctx.config["input"]["size"]) if test_flip else None
    return MethodParts(model=SplitModel(backbone, head), loss=cls_loss, stages=[ctx.stage()], on_epoch=[enter_epoch],
                       batch_loss=batch_loss, test_transform=test_transform)
