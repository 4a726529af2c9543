"""LDAM-DRW (Cao et al., NeurIPS 2019): label-distribution-aware margins, then deferred re-weighting.

Multi-label form: the paper's formula applied to each class as a binary
problem (no public multi-label implementation is followed), see
``ltbench.losses.ldam``: class i's positive logit loses a margin proportional
to n_i^(-1/4) (the largest ``loss.max_m``, 0.5), logits are scaled by
``loss.s`` (30) and enter BCE. As in the LDAM code, the classifier is a
cosine (normalised) linear layer, whose scores the scale s turns into logits.
DRW: from ``drw_epoch`` on (1-based; default the epoch after 80 % of training,
LDAM's 160 of 200) every entry of class i is weighted by its class-balanced
effective-number weight (``loss.drw_beta``, 0.9999). A ``drw_epoch`` past the
last epoch gives plain LDAM.
"""

from __future__ import annotations

import math

from ltbench.errors import LtbenchError
from ltbench.losses.ldam import LDAMLoss
from ltbench.methods.base import EpochInfo, MethodContext, MethodParts
from ltbench.methods.baseline import HeadKind, build_baseline
from ltbench.models.classifiers import CosineLinear
from ltbench.registry import METHODS


class DeferredReweighting:
    """Epoch hook: DRW weights off before ``start`` (1-based epoch of the stage), on from it."""

    def __init__(self, loss: LDAMLoss, start: int | None) -> None:
        self.loss, self.start = loss, start

    def first_epoch(self, epochs: int) -> int:
        return self.start if self.start is not None else math.floor(0.8 * epochs) + 1

    def __call__(self, info: EpochInfo) -> None:
        self.loss.reweight(info.epoch >= self.first_epoch(info.epochs))


@METHODS.register("ldam_drw", loss="ldam")
def ldam_drw(ctx: MethodContext, drw_epoch: int | None = None, head: HeadKind = "linear", neck_dim: int = 256,
             dropout: float = 0.5) -> MethodParts:
    """LDAM-DRW (Cao et al. 2019): per-class margins on positive logits, class-balanced weights from drw_epoch."""
    if drw_epoch is not None and drw_epoch < 1:
        raise LtbenchError(f"method.drw_epoch is a 1-based epoch (or null for 80 % of training), not {drw_epoch}.")
    parts = build_baseline(ctx, head, neck_dim, dropout)
    if not isinstance(parts.loss, LDAMLoss):
        raise LtbenchError("ldam_drw re-weights the LDAM loss; leave loss.name unset or set it to ldam.")
    parts.model.head.classifier = CosineLinear(parts.model.head.classifier.in_features, ctx.dataset.num_classes)
    parts.on_epoch.append(DeferredReweighting(parts.loss, drw_epoch))
    return parts
