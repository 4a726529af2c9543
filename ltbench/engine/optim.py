"""Optimizers and per-iteration learning-rate schedules from the ``train`` config section."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ltbench.errors import check_choice

OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULES = ("cosine", "onecycle", "step", "constant")


def parameter_groups(model: nn.Module, weight_decay: float, decay_norm_and_bias: bool) -> list[dict[str, Any]]:
    """Trainable parameters; biases and norm weights (1-d tensors) get no decay unless asked."""
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            (decay if decay_norm_and_bias or param.ndim > 1 else no_decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(model: nn.Module, cfg: dict[str, Any]) -> torch.optim.Optimizer:
    name = cfg["name"]
    check_choice("train.optimizer.name", name, OPTIMIZERS)
    groups = parameter_groups(model, cfg["weight_decay"], cfg["decay_norm_and_bias"])
    if name == "sgd":
        return torch.optim.SGD(groups, lr=cfg["lr"], momentum=cfg["momentum"])
    cls = torch.optim.AdamW if name == "adamw" else torch.optim.Adam  # "adam" adds L2 decay to the gradient
    return cls(groups, lr=cfg["lr"])


def lr_factor(cfg: dict[str, Any], step: int, steps_per_epoch: int, total_steps: int) -> float:
    """Multiplier of the base lr at optimizer step ``step`` (0-based), warm-up included."""
    name = cfg["name"]  # checked once by build_scheduler, not on every step
    progress = step / max(total_steps, 1)
    if name == "cosine":
        factor = 0.5 * (1 + math.cos(math.pi * progress))
    elif name == "step":
        epoch = step // max(steps_per_epoch, 1)
        factor = cfg["gamma"] ** sum(epoch >= m for m in cfg["milestones"])
    elif name == "constant":
        factor = 1.0
    else:  # onecycle: torch's OneCycleLR with its defaults: div 25, final div 1e4, cosine
        warm = cfg["pct_start"] * total_steps
        if step < warm:
            factor = _cos_between(1 / 25, 1.0, step / warm)
        else:
            factor = _cos_between(1.0, 1 / 25e4, (step - warm) / max(total_steps - warm, 1))
    warmup = cfg["warmup_iters"]
    if warmup and step < warmup:  # linear warm-up from lr * warmup_ratio (mmcv style)
        factor *= cfg["warmup_ratio"] + (1 - cfg["warmup_ratio"]) * step / warmup
    return factor


def _cos_between(start: float, end: float, fraction: float) -> float:
    return end + (start - end) * 0.5 * (1 + math.cos(math.pi * min(fraction, 1.0)))


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: dict[str, Any], steps_per_epoch: int, epochs: int
) -> torch.optim.lr_scheduler.LambdaLR:
    check_choice("train.schedule.name", cfg["name"], SCHEDULES)
    total = steps_per_epoch * epochs
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(cfg, step, steps_per_epoch, total))
