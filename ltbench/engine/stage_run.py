"""What one training stage runs with, and the rules that turn a method's ``Stage`` into it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader

from ltbench.config import deep_merge
from ltbench.engine.distributed import Step
from ltbench.methods.base import Stage
from ltbench.registry import Registry, resolve_params


@dataclass
class StageRun:
    """One stage being trained: its settings, loader, optimizer, schedule and EMA."""

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
    step: Step  # runs a batch's loss closure; under torchrun, inside DDP (engine.distributed)


def set_train_modes(model: nn.Module, stage: Stage) -> None:
    """Train mode, except modules none of whose parameters train in ``stage`` (their BatchNorm stays put)."""
    model.train()
    if stage.train is None:
        return
    for name, module in model.named_modules():
        names = [f"{name}.{p}" if name else p for p, _ in module.named_parameters()]
        if names and not any(stage.trains(n) for n in names):
            module.eval()


def stage_section(section: dict[str, Any], overrides: dict[str, Any] | None, registry: Registry, skip: int,
                   engine_keys: Sequence[str] = ("name",)) -> dict[str, Any]:
    """A stage's optimizer or schedule: the config's section with the stage's overrides.

    Naming another component keeps only the engine's keys of the section (as in config resolution).
    """
    if not overrides:
        return section
    renamed = overrides.get("name", section["name"]) != section["name"]
    merged = deep_merge({k: section[k] for k in engine_keys} if renamed else section, overrides)
    params = {k: v for k, v in merged.items() if k not in engine_keys}
    return {**{k: merged[k] for k in engine_keys}, **resolve_params(registry, merged["name"], params, skip=skip)}
