"""Weights & Biases runs: named by ltbench's run id and grouped by its config id, so seeds aggregate.

``WANDB_MODE=offline`` keeps everything in ``<run dir>/wandb`` for a later
``wandb sync``; ``WANDB_PROJECT`` picks the project (default ``ltbench``). The
W&B run id is ltbench's run id, so a run resumed from its checkpoint continues
the same W&B run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from ltbench.errors import LtbenchError
from ltbench.loggers import Record, RunInfo, epoch_scalars, final_scalars, hyper_parameters
from ltbench.registry import LOGGERS

DEFAULT_PROJECT = "ltbench"


class WandbLogger:
    def __init__(self, run: RunInfo) -> None:
        import wandb

        self.wandb = wandb
        try:
            self.run = wandb.init(
                project=os.environ.get("WANDB_PROJECT", DEFAULT_PROJECT), id=run.run_id, name=run.run_id,
                group=run.config_id, dir=str(run.run_dir), config=hyper_parameters(run.config), resume="allow",
                tags=[run.config["dataset"]["name"], run.config["method"]["name"]],
            )
        except Exception as exc:  # no API key, no network, a bad setting: wandb raises many types
            reason = " ".join(str(exc).split()).split(". ")[0].rstrip(".")
            raise LtbenchError(f"W&B could not start a run ({type(exc).__name__}: {reason}); run `wandb login` "
                               "or set WANDB_MODE=offline.") from None

    def log_epoch(self, record: Record) -> None:
        self.run.log(epoch_scalars(record), step=record["epoch"])

    def log_final(self, metrics: Record, config: dict[str, Any], figures: Sequence[Path]) -> None:
        values: dict[str, Any] = dict(final_scalars(metrics))
        values.update({f"figures/{figure.stem}": self.wandb.Image(str(figure)) for figure in figures})
        self.run.log(values, step=metrics["epochs"])
        self.run.config.update(hyper_parameters(config), allow_val_change=True)
        self.run.summary.update({f"final/{group}": value for group, value in metrics["map"].items()})

    def close(self) -> None:
        self.run.finish()


@LOGGERS.register("wandb", requires=("wandb", "wandb"))
def wandb(run: RunInfo) -> WandbLogger:
    """Weights & Biases (WANDB_MODE=offline works offline): named by run id, grouped by config id."""
    return WandbLogger(run)
