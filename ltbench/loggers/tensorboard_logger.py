"""TensorBoard event files in ``<run dir>/tensorboard``, written through ``torch.utils.tensorboard``.

``tensorboard --logdir results/runs`` shows every run side by side; the
resolved config goes in as hyper-parameters (TensorBoard's HPARAMS tab) and as text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ltbench.config.layering import dump_yaml
from ltbench.loggers import Record, RunInfo, epoch_scalars, final_scalars, hyper_parameters
from ltbench.registry import LOGGERS

LOG_FOLDER = "tensorboard"


class TensorBoardLogger:
    def __init__(self, log_dir: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(log_dir))

    def log_epoch(self, record: Record) -> None:
        for tag, value in epoch_scalars(record).items():
            self.writer.add_scalar(tag, value, record["epoch"])
        self.writer.flush()  # a crashed run still shows its epochs

    def log_final(self, metrics: Record, config: dict[str, Any], figures: Sequence[Path]) -> None:
        from PIL import Image
        from torch.utils.tensorboard.summary import hparams

        step = metrics["epochs"]
        for tag, value in final_scalars(metrics).items():
            self.writer.add_scalar(tag, value, step)
        summaries = hparams(hyper_parameters(config), {"test_map/total": metrics["map"]["total"]})
        for summary in summaries:  # into this run's own event file (add_hparams would open another run)
            self.writer.file_writer.add_summary(summary)
        self.writer.add_text("config", f"```\n{dump_yaml(config)}```", step)
        for figure in figures:
            with Image.open(figure) as image:
                pixels = np.asarray(image.convert("RGB"))
            self.writer.add_image(f"figures/{figure.stem}", pixels, step, dataformats="HWC")
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


@LOGGERS.register("tensorboard", requires=("tensorboard", "tensorboard"))
def tensorboard(run: RunInfo) -> TensorBoardLogger:
    """TensorBoard event files in <run dir>/tensorboard (tensorboard --logdir results/runs)."""
    return TensorBoardLogger(run.run_dir / LOG_FOLDER)
