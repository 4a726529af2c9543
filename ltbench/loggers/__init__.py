"""Experiment trackers (TensorBoard, Weights & Biases) fed by a run while it trains.

A logger is a factory registered in ``ltbench.registry.LOGGERS`` (a plugin can
add one) that takes a ``RunInfo`` and returns a ``RunLogger``. ``output.log``
names a run's loggers (none by default); ``output`` is outside the config hash,
so logging never changes a run's id. The trainer calls ``log_epoch`` after each
epoch and the experiment calls ``log_final`` once the run directory is written;
only the process that writes the run directory (rank 0 under DDP) logs.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

from ltbench.errors import LtbenchError

Record = dict[str, Any]


@dataclass(frozen=True)
class RunInfo:
    """What a logger needs to name and place a run: ltbench's run id groups under its seed-free config id."""

    run_dir: Path
    run_id: str
    config_id: str
    config: dict[str, Any]


class RunLogger(Protocol):
    def log_epoch(self, record: Record) -> None:
        """One history.jsonl row (epoch, train_loss, lr_groups, test_map, test_map_groups, ...)."""

    def log_final(self, metrics: Record, config: dict[str, Any], figures: Sequence[Path]) -> None:
        """metrics.json's content, the resolved config and the run's figures, once the run has finished."""

    def close(self) -> None:
        """Flush and release what the logger holds."""


class LoggerGroup:
    """Every logger of one run, called as one: the trainer and the experiment each hold a single call site."""

    def __init__(self, loggers: Sequence[RunLogger] = ()) -> None:
        self.loggers = list(loggers)

    def log_epoch(self, record: Record) -> None:
        for logger in self.loggers:
            logger.log_epoch(record)

    def log_final(self, metrics: Record, config: dict[str, Any], figures: Sequence[Path]) -> None:
        for logger in self.loggers:
            logger.log_final(metrics, config, figures)

    def close(self) -> None:
        for logger in self.loggers:
            logger.close()


def logger_names(config: dict[str, Any]) -> list[str]:
    """The loggers a resolved config asks for (``output.log``)."""
    return list(config.get("output", {}).get("log") or [])


def check_loggers(names: Sequence[str]) -> None:
    """Refuse an unknown logger or one whose package is missing, in one sentence, before anything trains."""
    from ltbench.plugins import load_plugins
    from ltbench.registry import LOGGERS

    load_plugins()
    for name in names:
        module, extra = LOGGERS.entry(name).meta.get("requires", (None, None))
        if module is not None and importlib.util.find_spec(module) is None:
            raise LtbenchError(f"--log {name} needs the {module} package; install it with "
                               f"pip install 'ltbench[{extra}]'.")


def open_loggers(names: Sequence[str], run: RunInfo) -> LoggerGroup:
    """The named loggers, started for ``run``."""
    from ltbench.registry import LOGGERS

    check_loggers(names)
    return LoggerGroup([LOGGERS.build(name, run=run) for name in names])


def run_figures(run_dir: Path) -> list[Path]:
    """The PNG figures kept with a run (in its folder or its ``figures/``), if it has any."""
    return sorted([*run_dir.glob("*.png"), *run_dir.glob("figures/*.png")])


def epoch_scalars(record: Record) -> dict[str, float]:
    """A history row as tracker scalars: training loss, each parameter group's lr, test mAP by group."""
    scalars = {"train/loss": record["train_loss"]}
    for index, lr in enumerate(record.get("lr_groups", [record["lr"]])):
        scalars[f"lr/group{index}"] = lr
    scalars["test_map/total"] = record.get("test_map")
    for group, value in record.get("test_map_groups", {}).items():
        scalars[f"test_map/{group}"] = value
    return _measured(scalars)


def final_scalars(metrics: Record) -> dict[str, float]:
    """metrics.json as tracker scalars: the reported model's mAP by group, each class's AP and the other
    metrics by group (``metrics/cf1/total``, docs/metrics.md)."""
    scalars = {f"test_map/{group}": value for group, value in metrics["map"].items()}
    scalars.update({f"per_class_ap/{name}": ap for name, ap in zip(metrics["class_names"], metrics["per_class_ap"])})
    scalars.update({f"metrics/{name}/{group}": entry.get(group) for name, entry in metrics.get("metrics", {}).items()
                    for group in metrics["map"]})
    return _measured(scalars)


def _measured(scalars: dict[str, Any]) -> dict[str, float]:
    """Without the values that were not measured: null or NaN (a class or group without test positives)."""
    return {tag: value for tag, value in scalars.items() if value is not None and not math.isnan(value)}


def hyper_parameters(config: dict[str, Any]) -> dict[str, Any]:
    """The resolved config as flat ``section.key`` hyper-parameters; lists and nulls as their YAML text."""
    from ltbench.runs.run_dir import flat_config

    return {key: value if isinstance(value, (bool, int, float, str)) else str(value)
            for key, value in flat_config(config).items()}
