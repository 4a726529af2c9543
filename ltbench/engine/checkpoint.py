"""Per-epoch training state, written atomically, so a killed run resumes where it stopped.

Only what training changes is saved: parameters that train in some stage, and
buffers. Frozen weights come back from where they were loaded when the model is
rebuilt (their weights file, or the seeded initialisation), so a frozen
ResNet-101 is not re-saved every epoch.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection

import numpy as np
import torch
from torch import nn

from ltbench.errors import LtbenchError
from ltbench.fileio.atomic import atomic_write


def trained_state(module: nn.Module, frozen: Collection[str], prefix: str = "") -> dict[str, torch.Tensor]:
    """``module``'s state without the parameters named in ``frozen`` (names relative to the model)."""
    return {k: v for k, v in module.state_dict().items() if k.removeprefix(prefix) not in frozen}


def load_trained_state(module: nn.Module, state: dict[str, torch.Tensor], frozen: Collection[str],
                       prefix: str = "") -> None:
    """Load a ``trained_state``; anything missing besides the frozen parameters is an error."""
    result = module.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if k.removeprefix(prefix) not in frozen]
    if missing or result.unexpected_keys:
        raise KeyError(f"{len(missing)} missing and {len(result.unexpected_keys)} unexpected tensors")


@dataclass
class Position:
    """Where a run stands: the stage and its last finished epoch."""

    stage: int
    epoch: int


def save_checkpoint(path: Path, position: Position, model: nn.Module, frozen: Collection[str],
                    optimizer: torch.optim.Optimizer, scheduler: Any, ema: nn.Module | None) -> None:
    state = {
        "stage": position.stage,
        "epoch": position.epoch,
        "model": trained_state(model, frozen),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "ema": trained_state(ema, frozen, "module.") if ema is not None else None,
        "rng": {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()},
    }
    atomic_write(path, lambda handle: torch.save(state, handle))


def read_checkpoint(path: Path, model: nn.Module, frozen: Collection[str]) -> tuple[Position, dict[str, Any]]:
    """Load the model's weights and the random state; return the position and the rest for ``restore_training``.

    A checkpoint that cannot be read or does not fit the model (a truncated
    file, code changed since it was written) is a one-sentence error.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
        load_trained_state(model, state["model"], frozen)
        random.setstate(state["rng"]["python"])
        np.random.set_state(state["rng"]["numpy"])
        torch.set_rng_state(state["rng"]["torch"])
        return Position(int(state.get("stage", 0)), int(state["epoch"])), state
    except Exception as exc:  # unpickling, missing entries and shape mismatches raise many unrelated types
        raise _unresumable(path, exc) from None


def restore_training(path: Path, state: dict[str, Any], frozen: Collection[str], optimizer: torch.optim.Optimizer,
                     scheduler: Any, ema: nn.Module | None) -> None:
    """Restore the optimizer, schedule and EMA of the stage being resumed."""
    try:
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        if ema is not None and state["ema"] is not None:
            load_trained_state(ema, state["ema"], frozen, "module.")
    except Exception as exc:
        raise _unresumable(path, exc) from None


def _unresumable(path: Path, exc: Exception) -> LtbenchError:
    reason = " ".join(str(exc).split())[:120]
    return LtbenchError(f"Checkpoint {path} cannot be resumed ({type(exc).__name__}: {reason}); "
                        "delete it to train this run from the start, or pass another output.root.")
