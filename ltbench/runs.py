"""Run directories: the one format that training writes and reports read.

A finished run directory holds::

    config.yaml     fully resolved config (every default explicit)
    metrics.json    see ``RunRecord``; ``status`` is "finished" once complete
    history.jsonl   one JSON object per finished epoch (epoch, train_loss, test_map, lr, ...)
    scores.npz      test-set ``scores`` (N x C float32: the logits through the method's ``score``
                    function, named in the file), ``targets`` (N x C uint8); docs/scores.md
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

from ltbench.config import config_hash
from ltbench.fileio import atomic_write, load_yaml_text, to_json, write_text

CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.json"
HISTORY_FILE = "history.jsonl"
SCORES_FILE = "scores.npz"
CHECKPOINT_FILE = "checkpoint.pt"
MODEL_FILE = "model.safetensors"

# keys of a resolved config that differ between seeds of one experiment, or only say where it is written / shown
# keys that do not name another experiment: where and how a run is kept, how it is labelled, and the CPU
# thread count (like the machine, recorded in metrics.json, it changes results only at round-off level)
HASH_IGNORES = ("output", "label", "train.keep_checkpoint", "train.threads")
CONFIG_ID_IGNORES = ("seed", *HASH_IGNORES)


def config_id(config: dict[str, Any]) -> str:
    """Seed-free id of a resolved config: runs sharing it are seeds of one experiment, which tables may average."""
    return config_hash(config, CONFIG_ID_IGNORES)


def flat_config(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"epochs": 3}}`` -> ``{"train.epochs": 3}``, so two configs can be compared key by key."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict) and value:
            flat.update(flat_config(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def format_value(value: Any) -> str:
    """A config value as YAML would show it inline: ``null``, ``true``, ``[5, 7]``, ``sgd``."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


LEGACY_SCORE = "sigmoid"  # what a scores.npz without a ``score`` entry holds (runs before docs/scores.md)


def write_scores(path: Path, scores: np.ndarray, targets: np.ndarray, score: str = "logit") -> None:
    """``score`` names the score function that made ``scores`` (``ltbench.methods.base.SCORE_FUNCTIONS``)."""
    atomic_write(path, lambda h: np.savez_compressed(
        h, scores=scores.astype(np.float32), targets=targets.astype(np.uint8), score=np.array(score)))


def read_scores(path: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """``(scores, targets, score function)`` of a scores.npz; AP ranks the scores whichever function made them."""
    with np.load(path) as saved:
        score = str(saved["score"]) if "score" in saved.files else LEGACY_SCORE
        return saved["scores"], saved["targets"], score


def append_history(run_dir: Path, row: dict[str, Any]) -> None:
    """Rewrite history.jsonl with ``row`` replacing any earlier row of the same epoch."""
    rows = [r for r in read_history(run_dir) if r.get("epoch") != row.get("epoch")] + [row]
    write_text(run_dir / HISTORY_FILE, "".join(to_json(r) + "\n" for r in rows))


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
        config = load_yaml_text((run_dir / CONFIG_FILE).read_text())
        metrics = json.loads((run_dir / METRICS_FILE).read_text())
        history = read_history(run_dir)
    except FileNotFoundError as exc:
        raise RunReadError(f"{run_dir}: missing {Path(exc.filename).name}") from None
    except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        reason = " ".join(str(exc).split())  # YAML errors span lines; a problem is reported on one
        raise RunReadError(f"{run_dir}: unreadable ({type(exc).__name__}: {reason})") from None
    if not isinstance(config, dict) or not isinstance(metrics, dict):
        raise RunReadError(f"{run_dir}: config or metrics is not a mapping")
    if isinstance(metrics.get("map"), dict):  # strict JSON stores an undefined mean (an empty group) as null
        metrics["map"] = {k: float("nan") if v is None else v for k, v in metrics["map"].items()}
    return RunRecord(run_dir, config, metrics, history)
