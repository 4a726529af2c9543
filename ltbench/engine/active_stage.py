"""What one training stage runs with, and the rule that turns a method's ``Stage`` into it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from ltbench.config.sections import complete, laid_over
from ltbench.engine.distributed import LossComputer
from ltbench.methods.base import Stage
from ltbench.registry import Kind


@dataclass
class ActiveStage:
    """The stage being trained: its settings, loader, optimizer, schedule and EMA."""

    index: int
    stage: Stage
    epochs: int
    first_epoch: int  # global epoch number of its first epoch
    cached: bool
    loader: DataLoader
    optimizer: torch.optim.Optimizer
    scheduler: Any
    ema: nn.Module | None
    scaler: torch.amp.GradScaler  # loss scaling for float16 autocast; a pass-through otherwise
    compute_loss: LossComputer  # calls a batch's loss closure; under torchrun, inside DDP (engine.distributed)


def set_train_modes(model: nn.Module, stage: Stage) -> None:
    """Train mode, except modules none of whose parameters train in ``stage`` (their BatchNorm stays put),
    unless a module asks to follow the model into train mode (``frozen_mode == "train"``, LMPT's frozen RN50)."""
    model.train()
    if stage.train is None:
        return
    follows = [name for name, module in model.named_modules() if getattr(module, "frozen_mode", None) == "train"]
    for name, module in model.named_modules():
        if any(name == f or name.startswith(f + ".") for f in follows):
            continue
        names = [f"{name}.{p}" if name else p for p, _ in module.named_parameters()]
        if names and not any(stage.trains(n) for n in names):
            module.eval()


def stage_section(kind: Kind, section: dict[str, Any], stage: Stage) -> dict[str, Any]:
    """The config's ``section`` of ``kind`` (optimizer, schedule or sampler) as ``stage`` trains with it:
    the stage's override laid over it by the one rule of ``Stage``, completed and type-checked."""
    override = getattr(stage, kind.section[-1])
    return complete(kind, laid_over(kind, section, override), where=f"stage {stage.name!r} {kind.where}")
