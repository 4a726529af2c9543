"""Registered optimizers and per-iteration learning-rate schedules.

An optimizer factory takes torch parameter groups (a method's, or the default
decay / no-decay split) and the base ``lr``; a schedule factory takes the
optimizer, the steps per epoch and the stage's epochs. Plugins add their own
with ``@OPTIMIZERS.register`` / ``@SCHEDULES.register``; their keyword
parameters become the ``train.optimizer`` / ``train.schedule`` config keys.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import nn

from ltbench.config.sections import build
from ltbench.engine.onecycle import one_cycle
from ltbench.registry import KINDS, OPTIMIZERS, SCHEDULES

Groups = list[dict[str, Any]]


def decay_groups(named: list[tuple[str, nn.Parameter]], cfg: dict[str, Any]) -> Groups:
    """Biases and norm weights (1-d tensors) get no weight decay unless ``decay_norm_and_bias``."""
    decay = [p for _, p in named if cfg["decay_norm_and_bias"] or p.ndim > 1]
    no_decay = [p for _, p in named if not (cfg["decay_norm_and_bias"] or p.ndim > 1)]
    return [{"params": decay, "weight_decay": cfg["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}]


@OPTIMIZERS.register("sgd")
def sgd(groups: Groups, lr: float, momentum: float = 0.9, nesterov: bool = False) -> torch.optim.Optimizer:
    """SGD with momentum; weight decay is per parameter group."""
    return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=nesterov)


@OPTIMIZERS.register("adamw")
def adamw(groups: Groups, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
          fused: bool = False) -> torch.optim.Optimizer:
    """AdamW (decoupled weight decay); ``fused`` uses the single-kernel CUDA implementation."""
    return torch.optim.AdamW(groups, lr=lr, betas=tuple(betas), eps=eps, fused=fused or None)


@OPTIMIZERS.register("adam")
def adam(groups: Groups, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> torch.optim.Optimizer:
    """Adam; its weight decay is L2 added to the gradient (the CPRFL paper's wording)."""
    return torch.optim.Adam(groups, lr=lr, betas=tuple(betas), eps=eps)


Scheduler = torch.optim.lr_scheduler.LRScheduler


def _with_warmup(optimizer: torch.optim.Optimizer, factor: Callable[[int], float], warmup_iters: int,
                 warmup_ratio: float) -> Scheduler:
    """``factor(step)`` times mmcv's linear warm-up from ``lr * warmup_ratio`` over ``warmup_iters`` steps."""

    def multiplier(step: int) -> float:
        value = factor(step)
        if warmup_iters and step < warmup_iters:
            value *= warmup_ratio + (1 - warmup_ratio) * step / warmup_iters
        return value

    return torch.optim.lr_scheduler.LambdaLR(optimizer, multiplier)


@SCHEDULES.register("cosine")
def cosine(optimizer: torch.optim.Optimizer, steps_per_epoch: int, epochs: int, warmup_iters: int = 0,
           warmup_ratio: float = 0.3333) -> Scheduler:
    """Cosine decay to zero over the stage, per iteration."""
    total = max(steps_per_epoch * epochs, 1)
    return _with_warmup(optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * step / total)),
                        warmup_iters, warmup_ratio)


@SCHEDULES.register("constant")
def constant(optimizer: torch.optim.Optimizer, steps_per_epoch: int, epochs: int, warmup_iters: int = 0,
             warmup_ratio: float = 0.3333) -> Scheduler:
    """A constant learning rate (after any warm-up)."""
    return _with_warmup(optimizer, lambda step: 1.0, warmup_iters, warmup_ratio)


@SCHEDULES.register("step")  # the config's name for it (part of committed runs' config hashes)
def step_decay(optimizer: torch.optim.Optimizer, steps_per_epoch: int, epochs: int, milestones: list[int] | None = None,
         gamma: float = 0.1, warmup_iters: int = 0, warmup_ratio: float = 0.3333) -> Scheduler:
    """Multiply the lr by gamma at each milestone epoch (the DB recipe)."""
    marks = milestones or []
    return _with_warmup(optimizer, lambda it: gamma ** sum(it // max(steps_per_epoch, 1) >= m for m in marks),
                        warmup_iters, warmup_ratio)


SCHEDULES.register("onecycle")(one_cycle)


def build_optimizer(groups: Groups, cfg: dict[str, Any]) -> torch.optim.Optimizer:
    """The resolved ``train.optimizer`` section's optimizer over ``groups``."""
    return build(KINDS["optimizers"], cfg, groups=groups, lr=cfg["lr"])


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: dict[str, Any], steps_per_epoch: int,
                    epochs: int) -> Scheduler:
    """The resolved ``train.schedule`` section's schedule, stepped once per iteration."""
    return build(KINDS["schedules"], cfg, optimizer=optimizer, steps_per_epoch=steps_per_epoch, epochs=epochs)
