"""A finished run back in memory: ``load_run`` rebuilds its model, ``evaluate_run`` re-evaluates it.

This sits above the experiment: it builds the run's experiment from its
``config.yaml``, loads ``model.safetensors`` (``ltbench.runs.model_file``) into it and
predicts through the same function training does (``ltbench.engine.prediction``),
so a reloaded run reproduces its scores to the last digit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from ltbench.errors import LtbenchError
from ltbench.evaluation import evaluate
from ltbench.engine.prediction import place_on_device, predict
from ltbench.experiment import Experiment, build_experiment
from ltbench.runs.run_dir import RunDir, RunReadError, RunUnfinished


@dataclass
class LoadedRun:
    """A finished run, back in memory: its model (eval mode), resolved config, metrics and built experiment."""

    model: nn.Module
    config: dict[str, Any]
    metrics: dict[str, Any]
    experiment: Experiment


def load_run(run_dir: str | Path) -> LoadedRun:
    """Rebuild a finished run's model from its ``config.yaml`` and load its ``model.safetensors``."""
    rundir = RunDir(run_dir)
    try:
        record = rundir.finished_record()
    except RunUnfinished:
        raise LtbenchError(f"{rundir.path} has not finished; run it again to resume it.") from None
    except RunReadError as exc:
        raise LtbenchError(f"{exc}; pass the directory of a finished run.") from None
    experiment = build_experiment(record.config)
    rundir.load_model(experiment.parts.model)
    experiment.parts.model.eval()
    return LoadedRun(experiment.parts.model, record.config, record.metrics, experiment)


def evaluate_run(run_dir: str | Path) -> dict[str, Any]:
    """Re-evaluate a finished run's saved model on its test split (the evaluator's output)."""
    experiment = load_run(run_dir).experiment
    parts = experiment.parts
    scores = predict(parts.model, place_on_device(experiment.config, experiment.dataset, parts),
                     parts.stages[-1] if parts.stages else None)
    return evaluate(scores, experiment.dataset.test.targets, experiment.dataset.groups)
