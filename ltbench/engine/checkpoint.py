"""Per-epoch training state, written atomically, so a killed run resumes where it stopped."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ltbench.errors import LtbenchError
from ltbench.fileio import atomic_write


def save_checkpoint(path: Path, epoch: int, model: nn.Module, optimizer: torch.optim.Optimizer,
                    scheduler: Any, ema: nn.Module | None) -> None:
    state = {
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "ema": ema.state_dict() if ema is not None else None,
        "rng": {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()},
    }
    atomic_write(path, lambda handle: torch.save(state, handle))


def load_checkpoint(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                    scheduler: Any, ema: nn.Module | None) -> int:
    """Restore everything saved by ``save_checkpoint``; return the epoch it finished.

    A checkpoint that cannot be read or does not fit the model (a truncated
    file, code changed since it was written) is a one-sentence error.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        if ema is not None and state["ema"] is not None:
            ema.load_state_dict(state["ema"])
        random.setstate(state["rng"]["python"])
        np.random.set_state(state["rng"]["numpy"])
        torch.set_rng_state(state["rng"]["torch"])
        return int(state["epoch"])
    except Exception as exc:  # unpickling, missing entries and shape mismatches raise many unrelated types
        reason = " ".join(str(exc).split())[:120]
        raise LtbenchError(f"Checkpoint {path} cannot be resumed ({type(exc).__name__}: {reason}); "
                           "delete it to train this run from the start, or pass another output.root.") from None
