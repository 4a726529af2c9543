"""Decoupling representation and classifier (Kang et al., ICLR 2020): tau-normalisation and cRT.

Both start from the baseline model trained with instance-balanced sampling.
tau-norm then divides each class's classifier weights by their norm to the
power tau at evaluation (``TauNormLinear``); cRT trains a fresh classifier on
the frozen representation with class-balanced sampling. Multi-label form: the
paper's formulas per class, sigmoid instead of softmax; class-balanced
sampling is the DB paper's class-aware sampler (a class, then an image of it).

tau is fixed at 1.0, the paper's value, never chosen on the test set. Under
ltbench's metric it needs no choosing at all: per-class AP ranks the images
by one class's score, and tau-norm multiplies that class's logit by the
positive constant 1 / ||w_i||^tau (its bias kept), so it leaves every
per-class AP, hence mAP, unchanged for any tau. It matters for per-image
rankings and thresholds, which ltbench does not report.
"""

from __future__ import annotations

from torch import nn

from ltbench.methods.base import MethodContext, MethodParts, SplitModel
from ltbench.models.classifiers import TauNormLinear
from ltbench.models.heads import PooledHead
from ltbench.registry import METHODS


def tau_norm_head(in_channels: int, num_classes: int, head: str, neck_dim: int, dropout: float,
                  tau: float) -> PooledHead:
    """The baseline head whose classifier is a ``TauNormLinear`` with the baseline's initial weights."""
    pooled = PooledHead(in_channels, num_classes, head, neck_dim, dropout)
    plain: nn.Linear = pooled.classifier
    pooled.classifier = TauNormLinear(plain.in_features, plain.out_features, tau)
    pooled.classifier.load_state_dict(plain.state_dict())
    return pooled


@METHODS.register("tau_norm")
def tau_norm(ctx: MethodContext, tau: float = 1.0, head: str = "linear", neck_dim: int = 256,
             dropout: float = 0.5) -> MethodParts:
    """tau-norm (Kang et al. 2020): the baseline, evaluated with classifier weights divided by ||w_i||^tau."""
    backbone = ctx.backbone()
    model = SplitModel(backbone, tau_norm_head(backbone.out_channels, ctx.dataset.num_classes, head, neck_dim,
                                               dropout, tau))
    return MethodParts(model=model, loss=ctx.loss(default="bce"))
