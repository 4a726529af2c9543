"""The one-cycle schedule as torch's ``OneCycleLR``, stepped once per iteration, momentum cycling included.

The CPRFL authors build ``OneCycleLR(optimizer, max_lr, steps_per_epoch,
epochs=80, pct_start=0.1)`` and stop training after 79 epochs, so the schedule
never reaches its final, lowest learning rate. ``total_epochs`` expresses
that: the cycle spans ``total_epochs`` while the run trains ``epochs``.
With ``cycle_momentum`` (torch's default) Adam-family optimizers have their
beta1 cycled inversely to the learning rate, 0.95 -> 0.85 at the peak -> 0.95
at the end; SGD has its momentum cycled the same way.
"""

from __future__ import annotations

import torch
from torch.optim.lr_scheduler import OneCycleLR

from ltbench.errors import LtbenchError


def one_cycle(
    optimizer: torch.optim.Optimizer,
    steps_per_epoch: int,
    epochs: int,
    total_epochs: int | None = None,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    cycle_momentum: bool = True,
    base_momentum: float = 0.85,
    max_momentum: float = 0.95,
    anneal_strategy: str = "cos",
) -> OneCycleLR:
    """One cycle, torch's OneCycleLR: cosine up to each group's lr over pct_start, then down; momentum cycled.

    The lr starts at ``lr / div_factor``, rises over the first ``pct_start``
    of the cycle, and falls to ``lr / (div_factor * final_div_factor)`` at
    its last step; defaults are torch's.
    """
    total_epochs = epochs if total_epochs is None else total_epochs
    if total_epochs < epochs:
        raise LtbenchError(f"train.schedule.total_epochs ({total_epochs}) must be at least train.epochs ({epochs}).")
    if cycle_momentum and not {"momentum", "betas"} & set(optimizer.defaults):
        raise LtbenchError(f"{type(optimizer).__name__} has no momentum to cycle; set "
                           "train.schedule.cycle_momentum=false.")
    return OneCycleLR(
        optimizer, max_lr=[group["lr"] for group in optimizer.param_groups],
        total_steps=max(steps_per_epoch, 1) * total_epochs, pct_start=pct_start, div_factor=div_factor,
        final_div_factor=final_div_factor, cycle_momentum=cycle_momentum, base_momentum=base_momentum,
        max_momentum=max_momentum, anneal_strategy=anneal_strategy,
    )
