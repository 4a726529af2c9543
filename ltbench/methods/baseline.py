"""The baseline model (backbone + pooled head) with each re-balancing loss of Table 1.

Each method here is the same model with a different loss, so that differences
in the tables come from the loss alone (as in the DB paper's comparisons).
"""

from __future__ import annotations

from typing import Callable, Literal

from ltbench.methods.base import MethodContext, MethodParts, SplitModel
from ltbench.models.heads import PooledHead
from ltbench.registry import METHODS

# method name -> (its loss, help text); the loss can still be swapped with loss.name=...
LOSS_METHODS: dict[str, tuple[str, str]] = {
    "erm": ("bce", "ERM: baseline model trained with plain binary cross-entropy."),
    "rw": ("rw", "RW: BCE re-weighted per class by sqrt(N / n_i)."),
    "focal": ("focal", "Focal loss (Lin et al. 2017) on the baseline model."),
    "cb_focal": ("cb_focal", "CB-Focal: class-balanced effective-number weights (Cui et al. 2019) times focal."),
    "db_focal": ("db_focal", "DB-Focal: distribution-balanced loss (Wu et al. 2020)."),
    "db_nofocal": ("db_nofocal", "DB No-Focal: distribution-balanced loss without the focal factor."),
    "asl": ("asl", "ASL: asymmetric loss (Ridnik et al. 2021) on the baseline model."),
    "mls": ("mls", "MLS: multi-label soft-margin loss on the baseline model."),
    "two_way": ("two_way", "Two-way loss (Kobayashi, CVPR 2023) on the baseline model."),
    "mfm": ("mfm", "MFM: COMIC's multi-focal modifier loss (Zhang et al., ICCV 2023) on the baseline model."),
}


HeadKind = Literal["linear", "db_neck"]


def build_baseline(ctx: MethodContext, head: HeadKind = "linear", neck_dim: int = 256,
                   dropout: float = 0.5) -> MethodParts:
    """Backbone -> pooled head (linear or the DB neck) -> logits, trained with the config's loss in one stage."""
    backbone = ctx.backbone()
    model = SplitModel(backbone, PooledHead(backbone.out_channels, ctx.dataset.num_classes, head, neck_dim, dropout))
    return MethodParts(model=model, loss=ctx.loss(), stages=[ctx.stage()])


def loss_method(name: str, loss: str, doc: str) -> Callable[..., MethodParts]:
    """Register ``name``: the baseline model trained with the registered loss ``loss`` (plugins use it too)."""

    def method(ctx: MethodContext, head: HeadKind = "linear", neck_dim: int = 256, dropout: float = 0.5) -> MethodParts:
        return build_baseline(ctx, head, neck_dim, dropout)

    method.__doc__ = doc
    method.__qualname__ = f"loss_method.{name}"
    return METHODS.register(name, loss=loss)(method)


for _name, (_loss, _doc) in LOSS_METHODS.items():
    loss_method(_name, _loss, _doc)
