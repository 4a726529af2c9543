"""Run directories: ``RunDir`` owns one, its files, their formats, whether it has finished and its lock.

A finished run directory holds::

    config.yaml     fully resolved config (every default explicit)
    metrics.json    see ``RunRecord``; ``status`` is "finished" once complete
    history.jsonl   one JSON object per finished epoch (epoch, train_loss, test_map, lr, ...)
    scores.npz      test-set ``scores`` (N x C float32: the logits through the method's ``score``
                    function, named in the file), ``targets`` (N x C uint8); docs/scores.md
    replicates.npz  the test-set bootstrap replicates of mAP, keyed by what they were made from
                    (``ltbench.reports.run_replicates``); docs/file-formats.md
    model.safetensors  the reported model's trained tensors (``ltbench.runs.model_file``)
    checkpoint.pt   last epoch's training state, for resuming (``ltbench.engine.checkpoint``); deleted when
                    the run finishes unless ``train.keep_checkpoint``
    .lock           held while a process trains the run (``ltbench.fileio.locks``)

Training, reloading, launchers and reports all go through ``RunDir``, so each
question ("has it finished?", "where is its checkpoint?") has one answer. Every
file is written atomically (``ltbench.fileio.atomic``), so a crash never leaves a
half-written file behind.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Collection, Sequence

import numpy as np
import yaml

from ltbench.config.layering import config_hash, dump_yaml
from ltbench.fileio.atomic import atomic_write, load_yaml_text, to_json, write_json, write_text
from ltbench.fileio.locks import run_lock, run_lock_holder
from ltbench.paths import results_root

if TYPE_CHECKING:
    from torch import nn

CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.json"
HISTORY_FILE = "history.jsonl"
SCORES_FILE = "scores.npz"
REPLICATES_FILE = "replicates.npz"
REPLICATES_KEYS = "keys"  # replicates.npz's entry holding {metric: key} as JSON; every other entry is a metric's
CHECKPOINT_FILE = "checkpoint.pt"
MODEL_FILE = "model.safetensors"
FINISHED = "finished"  # metrics.json's status once every other result file is written

# keys of a resolved config that do not name another experiment: where and how a run is kept, how it is
# labelled, and the CPU thread count (like the machine, recorded in metrics.json, it changes results only
# at round-off level)
HASH_IGNORES = ("output", "label", "train.keep_checkpoint", "train.threads")
CONFIG_ID_IGNORES = ("seed", *HASH_IGNORES)


def config_id(config: dict[str, Any]) -> str:
    """Seed-free id of a resolved config: runs sharing it are seeds of one experiment, which tables may average."""
    return config_hash(config, CONFIG_ID_IGNORES)


def run_dir_of(config: dict[str, Any]) -> Path:
    """Where a resolved config's run is written: ``<root>/<dataset>/<method>_s<seed>_<config hash>``."""
    root = Path(config["output"]["root"] or results_root() / "runs")
    name = f"{config['method']['name']}_s{config['seed']}_{config_hash(config, HASH_IGNORES)}"
    return root / config["dataset"]["name"] / name


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


@dataclass
class RunRecord:
    """A run directory read back: its config, metrics and history."""

    path: Path
    config: dict[str, Any]
    metrics: dict[str, Any]
    history: list[dict[str, Any]]

    @property
    def finished(self) -> bool:
        return self.metrics.get("status") == FINISHED


class RunReadError(Exception):
    """A run directory that is missing files or holds unreadable ones."""


class RunUnfinished(RunReadError):
    """A readable run directory whose run has not finished."""

    def __init__(self, path: Path, status: Any) -> None:
        super().__init__(f"{path}: unfinished (status {status!r})")
        self.path, self.status = path, status


class RunDir:
    """One run directory: the only code that knows its file names and formats."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @property
    def checkpoint(self) -> Path:
        """Where the trainer keeps its resumable state (format: ``ltbench.engine.checkpoint``)."""
        return self.path / CHECKPOINT_FILE

    # ------------------------------------------------------------------ reading
    def config(self) -> dict[str, Any]:
        return self._read(CONFIG_FILE, load_yaml_text)

    def metrics(self) -> dict[str, Any]:
        metrics = self._read(METRICS_FILE, json.loads)
        if isinstance(metrics.get("map"), dict):  # strict JSON stores an undefined mean (an empty group) as null
            metrics["map"] = {k: float("nan") if v is None else v for k, v in metrics["map"].items()}
        return metrics

    def history(self) -> list[dict[str, Any]]:
        """One row per finished epoch; none before the first epoch has finished."""
        if not (self.path / HISTORY_FILE).is_file():
            return []
        return self._read(HISTORY_FILE, lambda text: [json.loads(line) for line in text.splitlines() if line.strip()])

    def scores(self) -> tuple[np.ndarray, np.ndarray, str]:
        """The reported model's test-set ``(scores, targets, score function)`` (``read_scores``)."""
        try:
            return read_scores(self.path / SCORES_FILE)
        except FileNotFoundError:
            raise RunReadError(f"{self.path}: missing {SCORES_FILE}") from None
        except (OSError, ValueError, KeyError) as exc:
            raise RunReadError(f"{self.path}: unreadable {SCORES_FILE} ({type(exc).__name__})") from None

    def replicates(self) -> dict[str, tuple[str, np.ndarray]]:
        """metric -> (key, replicates) as stored; empty when the file is absent or unreadable (views then compute)."""
        try:
            with np.load(self.path / REPLICATES_FILE) as saved:
                keys = json.loads(str(saved[REPLICATES_KEYS]))
                return {metric: (str(key), saved[metric]) for metric, key in keys.items() if metric in saved.files}
        except (OSError, ValueError, KeyError, AttributeError, json.JSONDecodeError):
            return {}

    def record(self) -> RunRecord:
        """Config, metrics and history; ``RunReadError`` says what is wrong with the directory."""
        return RunRecord(self.path, self.config(), self.metrics(), self.history())

    def finished_record(self) -> RunRecord:
        """The record of a finished run; ``RunUnfinished`` for one still running or killed."""
        record = self.record()
        if not record.finished:
            raise RunUnfinished(self.path, record.metrics.get("status"))
        return record

    @property
    def finished(self) -> bool:
        """Whether the run has finished: a readable directory whose metrics say so."""
        try:
            return self.record().finished
        except RunReadError:
            return False

    @property
    def started(self) -> bool:
        """Whether at least one epoch has finished (a run that is not finished then resumes)."""
        return (self.path / HISTORY_FILE).is_file()

    def _read(self, name: str, parse: Callable[[str], Any]) -> Any:
        try:
            value = parse((self.path / name).read_text())
        except FileNotFoundError:
            raise RunReadError(f"{self.path}: missing {name}") from None
        except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
            reason = " ".join(str(exc).split())  # YAML errors span lines; a problem is reported on one
            raise RunReadError(f"{self.path}: unreadable ({type(exc).__name__}: {reason})") from None
        if name != HISTORY_FILE and not isinstance(value, dict):
            raise RunReadError(f"{self.path}: config or metrics is not a mapping")
        return value

    # ------------------------------------------------------------------ writing
    def start(self, config: dict[str, Any]) -> None:
        """Record the resolved config a run trains with."""
        write_text(self.path / CONFIG_FILE, dump_yaml(config))

    def write_history(self, rows: Sequence[dict[str, Any]]) -> None:
        """Rewrite history.jsonl with ``rows``, the trainer's epochs so far."""
        write_text(self.path / HISTORY_FILE, "".join(to_json(row) + "\n" for row in rows))

    def write_scores(self, scores: np.ndarray, targets: np.ndarray, score: str = "logit") -> None:
        write_scores(self.path / SCORES_FILE, scores, targets, score)

    def write_replicates(self, replicates: dict[str, tuple[str, np.ndarray]]) -> None:
        """metric -> (key, replicates), as ``ltbench.reports.run_replicates`` makes and checks them."""
        arrays = {metric: np.asarray(values, dtype=np.float64) for metric, (_, values) in replicates.items()}
        keys = np.array(to_json({metric: key for metric, (key, _) in replicates.items()}))
        atomic_write(self.path / REPLICATES_FILE, lambda h: np.savez(h, **arrays, **{REPLICATES_KEYS: keys}))

    def write_results(self, metrics: dict[str, Any], scores: np.ndarray, targets: np.ndarray, score: str,
                      replicates: dict[str, tuple[str, np.ndarray]]) -> None:
        """The run-end writer of every finished run directory (trained runs, scored submissions): the scores, their
        bootstrap replicates (``reports.run_replicates.run_end_replicates``), then ``metrics`` (status
        ``FINISHED``) last, marking the run finished."""
        self.write_scores(scores, targets, score)
        self.write_replicates(replicates)
        write_json(self.path / METRICS_FILE, metrics)

    def finish(self, metrics: dict[str, Any], scores: np.ndarray, targets: np.ndarray, score: str,
               replicates: dict[str, tuple[str, np.ndarray]], model: nn.Module, frozen: Collection[str],
               keep_checkpoint: bool) -> None:
        """Write a trained run's model and results (``write_results``), then drop its checkpoint unless kept."""
        from ltbench.runs.model_file import save_model

        save_model(self.path / MODEL_FILE, model, frozen)
        self.write_results(metrics, scores, targets, score, replicates)
        if not keep_checkpoint:
            self.checkpoint.unlink(missing_ok=True)

    def write_metrics(self, metrics: dict[str, Any]) -> None:
        """Rewrite a finished run's metrics.json (metrics added later, ``ltbench eval --from-scores``)."""
        write_json(self.path / METRICS_FILE, metrics)

    def load_model(self, model: nn.Module) -> None:
        """Load the saved model's tensors into ``model``, freshly built from this run's config."""
        from ltbench.runs.model_file import load_model

        load_model(self.path / MODEL_FILE, model)

    # ------------------------------------------------------------------ lock
    def lock(self, wait: bool = False) -> contextlib.AbstractContextManager[None]:
        """Held while training: a run locked by a live process raises ``RunInProgress`` (or, with ``wait``, waits)."""
        return run_lock(self.path, wait)

    def lock_holder(self) -> str | None:
        """Who trains the run now ("pid N on host"), or None; creates nothing."""
        return run_lock_holder(self.path)


def read_run(run_dir: str | Path) -> RunRecord:
    """Read a run directory; raise ``RunReadError`` saying what is wrong with it."""
    return RunDir(run_dir).record()
