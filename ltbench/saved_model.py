"""A finished run's model: written as ``model.safetensors``, loaded back with ``load_run``, re-evaluated with ``evaluate_run``.

The file holds the reported model's tensors that training changed (trained
parameters and buffers); the frozen ones are rebuilt from the run's config
(their weights file or seeded initialisation), and a digest of them, stored in
the file's metadata, proves on loading that they are the ones the run used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection

from torch import nn

from ltbench.errors import LtbenchError
from ltbench.fileio import atomic_write, tensors_digest
from ltbench.runs import MODEL_FILE, RunReadError, read_run

FORMAT = "ltbench-trained-state-1"


def _frozen_digest(model: nn.Module, frozen: Collection[str]) -> str:
    return tensors_digest({k: v for k, v in model.state_dict().items() if k in frozen})


def save_model(path: Path, model: nn.Module, frozen: Collection[str]) -> None:
    """Write ``model``'s trained tensors and the digest of its frozen ones."""
    from safetensors.torch import save

    state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items() if k not in frozen}
    metadata = {"format": FORMAT, "frozen_digest": _frozen_digest(model, frozen)}
    blob = save(state, metadata=metadata)
    atomic_write(path, lambda handle: handle.write(blob))


def load_model(path: Path, model: nn.Module) -> None:
    """Load a ``save_model`` file into a freshly built ``model`` of the same config, checking its frozen part."""
    from safetensors import safe_open

    if not path.is_file():
        raise LtbenchError(f"{path} does not exist; only runs finished by this version of ltbench have a model file.")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            state = {key: handle.get_tensor(key) for key in handle.keys()}
    except Exception as exc:  # safetensors raises its own error types for damaged files
        raise LtbenchError(f"{path} is not a readable model file ({type(exc).__name__}); re-run the run.") from None
    frozen = set(model.state_dict()) - set(state)
    if metadata.get("frozen_digest") != _frozen_digest(model, frozen):
        raise LtbenchError(f"The frozen weights rebuilt for {path.parent} differ from the ones it was trained with "
                           "(was model.weights or its file changed?).")
    result = model.load_state_dict(state, strict=False)
    if result.unexpected_keys or set(result.missing_keys) - frozen:
        raise LtbenchError(f"{path} does not fit the model its config builds.")


@dataclass
class LoadedRun:
    """A finished run, back in memory: its model (eval mode), resolved config, metrics and built experiment."""

    model: nn.Module
    config: dict[str, Any]
    metrics: dict[str, Any]
    experiment: Any  # ltbench.experiment.Experiment (dataset, method parts)


def load_run(run_dir: str | Path) -> LoadedRun:
    """Rebuild a finished run's model from its ``config.yaml`` and load its ``model.safetensors``."""
    from ltbench.experiment import build_experiment

    run_dir = Path(run_dir)
    try:
        record = read_run(run_dir)
    except RunReadError as exc:
        raise LtbenchError(f"{exc}; pass the directory of a finished run.") from None
    if not record.finished:
        raise LtbenchError(f"{run_dir} has not finished; run it again to resume it.")
    experiment = build_experiment(record.config)
    load_model(run_dir / MODEL_FILE, experiment.parts.model)
    experiment.parts.model.eval()
    return LoadedRun(experiment.parts.model, record.config, record.metrics, experiment)


def evaluate_run(run_dir: str | Path) -> dict[str, Any]:
    """Re-evaluate a finished run's saved model on its test split (the evaluator's output)."""
    from ltbench.engine.trainer import Trainer
    from ltbench.evaluation import evaluate

    loaded = load_run(run_dir)
    experiment = loaded.experiment
    trainer = Trainer(loaded.config, experiment.dataset, experiment.parts, Path(run_dir))
    last_stage = experiment.parts.stages[-1] if experiment.parts.stages else None
    scores = trainer.predict(trainer.model, last_stage)
    return evaluate(scores, experiment.dataset.test.targets, experiment.dataset.groups)
