"""Two-stage and per-epoch methods as a user writes them: one file, no edit to ltbench."""
import numpy as np
import torch

from ltbench import MethodContext, MethodParts, Stage, build_baseline, register_method


@register_method("my_crt", loss="bce")
def my_crt(ctx: MethodContext, classifier_epochs: int | None = None) -> MethodParts:
    """cRT (Kang et al. 2020): train all, then a fresh classifier on the frozen model, class-balanced."""
    parts = build_baseline(ctx)
    parts.stages = [
        ctx.stage(name="representation"),  # the whole model, or only the head when model.freeze=all
        Stage("classifier", epochs=classifier_epochs, train=("head.classifier",), sampler="class_aware",
              on_start=lambda model: model.head.reset_classifier()),
    ]
    return parts


@register_method("my_drw", loss="bce")
def my_drw(ctx: MethodContext, start_epoch: int = 2, beta: float = 0.999) -> MethodParts:
    """DRW (Cao et al. 2019): BCE whose class-balanced weights switch on at ``start_epoch``."""
    parts = build_baseline(ctx)
    n = np.asarray(ctx.dataset.class_freq, dtype=np.float64)
    weights = (1 - beta) / (1 - beta ** np.maximum(n, 1))
    weights = torch.tensor(weights * len(n) / weights.sum(), dtype=torch.float32)
    parts.loss = torch.nn.BCEWithLogitsLoss()

    def switch(info):
        on = info.global_epoch >= start_epoch
        parts.loss.weight = weights.to(parts.model.head.classifier.weight.device) if on else None

    parts.on_epoch.append(switch)
    return parts
