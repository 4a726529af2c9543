"""Run directories: the one format that training writes and reports read.

A finished run directory holds::

    config.yaml     fully resolved config (every default explicit)
    metrics.json    see ``RunRecord``; ``status`` is "finished" once complete
    history.jsonl   one JSON object per finished epoch (epoch, train_loss, test_map, lr, ...)
    scores.npz      test-set ``scores`` (N x C float32, sigmoid) and ``targets`` (N x C uint8)
    model.safetensors  the reported model's trained tensors (``ltbench.saved_model``)
    checkpoint.pt   last epoch's training state, for resuming; deleted when the run
                    finishes unless ``train.keep_checkpoint``

Every file is written atomically (``ltbench.fileio``), so a crash never leaves a
half-written file behind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ltbench.fileio import atomic_write, json_default, write_text

CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.json"
HISTORY_FILE = "history.jsonl"
SCORES_FILE = "scores.npz"
CHECKPOINT_FILE = "checkpoint.pt"
MODEL_FILE = "model.safetensors"


def write_scores(path: Path, scores: np.ndarray, targets: np.ndarray) -> None:
    atomic_write(
        path,
        lambda h: np.savez_compressed(h, scores=scores.astype(np.float32), targets=targets.astype(np.uint8)),
    )


def append_history(run_dir: Path, row: dict[str, Any]) -> None:
    """Rewrite history.jsonl with ``row`` replacing any earlier row of the same epoch."""
    rows = [r for r in read_history(run_dir) if r.get("epoch") != row.get("epoch")] + [row]
    write_text(run_dir / HISTORY_FILE, "".join(json.dumps(r, default=json_default) + "\n" for r in rows))


def read_history(run_dir: Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / HISTORY_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@dataclass
class RunRecord:
    """A run directory read back: its config, metrics and history."""

    path: Path
    config: dict[str, Any]
    metrics: dict[str, Any]
    history: list[dict[str, Any]]

    @property
    def finished(self) -> bool:
        return self.metrics.get("status") == "finished"


class RunReadError(Exception):
    """A run directory that is missing files or holds unreadable ones."""


def read_run(run_dir: str | Path) -> RunRecord:
    """Read a run directory; raise ``RunReadError`` saying what is wrong with it."""
    run_dir = Path(run_dir)
    try:
        config = yaml.safe_load((run_dir / CONFIG_FILE).read_text())
        metrics = json.loads((run_dir / METRICS_FILE).read_text())
        history = read_history(run_dir)
    except FileNotFoundError as exc:
        raise RunReadError(f"{run_dir}: missing {Path(exc.filename).name}") from None
    except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise RunReadError(f"{run_dir}: unreadable ({type(exc).__name__}: {exc})") from None
    if not isinstance(config, dict) or not isinstance(metrics, dict):
        raise RunReadError(f"{run_dir}: config or metrics is not a mapping")
    return RunRecord(run_dir, config, metrics, history)
