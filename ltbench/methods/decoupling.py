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

from ltbench.methods.base import MethodContext, MethodParts, Stage
from ltbench.methods.baseline import HeadKind, build_baseline
from ltbench.models.classifiers import TauNormLinear
from ltbench.registry import METHODS


@METHODS.register("tau_norm", loss="bce")
def tau_norm(ctx: MethodContext, tau: float = 1.0, head: HeadKind = "linear", neck_dim: int = 256,
             dropout: float = 0.5) -> MethodParts:
    """tau-norm (Kang et al. 2020): the baseline, evaluated with classifier weights divided by ||w_i||^tau."""
    parts = build_baseline(ctx, head, neck_dim, dropout)
    plain: nn.Linear = parts.model.head.classifier
    parts.model.head.classifier = TauNormLinear(plain.in_features, plain.out_features, tau)
    parts.model.head.classifier.load_state_dict(plain.state_dict())  # the baseline's initial weights
    return parts


def fresh_classifier(model: nn.Module) -> None:
    """cRT's stage-2 start: the classifier re-initialised as the baseline initialises it."""
    model.head.reset_classifier()


@METHODS.register("crt", loss="bce")
def crt(ctx: MethodContext, classifier_epochs: int | None = None, head: HeadKind = "linear", neck_dim: int = 256,
        dropout: float = 0.5) -> MethodParts:
    """cRT (Kang et al. 2020): instance-balanced training, then a fresh classifier re-trained class-balanced."""
    parts = build_baseline(ctx, head, neck_dim, dropout)
    parts.stages = [
        ctx.stage(name="representation"),
        Stage("classifier", epochs=classifier_epochs, train=("head.classifier",), sampler="class_aware",
              on_start=fresh_classifier),
    ]
    return parts
