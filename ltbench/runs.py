"""Run directories: the one format that training writes and reports read.

A finished run directory holds::

    config.yaml     fully resolved config (every default explicit)
    metrics.json    see ``RunRecord``; ``status`` is "finished" once complete
    history.jsonl   one JSON object per finished epoch (epoch, train_loss, test_map, lr, ...)
    scores.npz      test-set ``scores`` (N x C float32, sigmoid) and ``targets`` (N x C uint8)
    checkpoint.pt   last epoch's training state, for resuming

Every file is written atomically (temp file + rename), so a crash never leaves a
half-written file behind.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import yaml

CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.json"
HISTORY_FILE = "history.jsonl"
SCORES_FILE = "scores.npz"
CHECKPOINT_FILE = "checkpoint.pt"


def atomic_write(path: Path, write: Callable[[io.BufferedWriter], None]) -> None:
    """Write via ``write(handle)`` into a temp file beside ``path``, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda h: h.write(text.encode()))


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, default=_json_default) + "\n")


def write_scores(path: Path, scores: np.ndarray, targets: np.ndarray) -> None:
    atomic_write(
        path,
        lambda h: np.savez_compressed(h, scores=scores.astype(np.float32), targets=targets.astype(np.uint8)),
    )


def append_history(run_dir: Path, row: dict[str, Any]) -> None:
    """Rewrite history.jsonl with ``row`` replacing any earlier row of the same epoch."""
    rows = [r for r in read_history(run_dir) if r.get("epoch") != row.get("epoch")] + [row]
    write_text(run_dir / HISTORY_FILE, "".join(json.dumps(r, default=_json_default) + "\n" for r in rows))


def read_history(run_dir: Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / HISTORY_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


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

    def scores(self) -> tuple[np.ndarray, np.ndarray]:
        with np.load(self.path / SCORES_FILE) as data:
            return data["scores"], data["targets"]


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
