"""One experiment from a resolved config: build it, train or resume it, write its run directory.

``run_config`` is the one run path (build -> lock -> train, resume or reuse)
that ``ltbench run``, ``ltbench.run`` and the suite launchers all take.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ltbench.config.layering import Config, deep_merge
from ltbench.data.base import LTDataset, select_test_images
from ltbench.engine.distributed import Distributed, is_main_rank, main_rank_lock
from ltbench.engine.trainer import Trainer, seed_everything
from ltbench.evaluation import classes_without_test_positives
from ltbench.fileio.atomic import digest
from ltbench.fileio.faults import check_writable
from ltbench.loggers import RunInfo, logger_names, open_loggers, run_figures
from ltbench.metrics import evaluate_metrics
from ltbench.metrics.scored import Scored
from ltbench.methods.base import MethodContext, MethodParts
from ltbench.runs.test_selected import best_test_epoch
from ltbench.paths import cache_root
from ltbench.plugins import load_plugins
from ltbench.progress import console
from ltbench.provenance import code_version
from ltbench.registry import DATASETS, METHODS
from ltbench.reports.run_replicates import run_end_replicates
from ltbench.config.resolve import resolve_config
from ltbench.runs.run_dir import FINISHED, RunDir, config_id, run_dir_of
from ltbench.runs.random_weights import is_smoke, run_is_smoke, smoke_note


@dataclass
class Experiment:
    """A built experiment: its resolved config, dataset, method parts, and the run directory it writes."""

    config: Config
    dataset: LTDataset
    parts: MethodParts
    rundir: RunDir
    provenance: dict[str, str]
    weights: dict[str, dict[str, str]]

    @property
    def run_dir(self) -> Path:
        return self.rundir.path


def build_dataset(config: Config, datasets: dict[str, LTDataset] | None = None) -> LTDataset:
    """The resolved config's dataset; ``datasets`` lets a suite reuse one already built with the same settings."""
    params = dict(config["dataset"])
    name, test_images = params.pop("name"), params.pop("test_images", "all")
    datasets = {} if datasets is None else datasets
    key = digest(config["dataset"])
    if key not in datasets:
        datasets[key] = select_test_images(DATASETS.build(name, **params), test_images)
    return datasets[key]


def build_experiment(config: Config, datasets: dict[str, LTDataset] | None = None) -> Experiment:
    """Build the dataset and the method's parts from a config that ``resolve_config`` returned.

    An unusable results root or cache folder is refused first, before any data is read.
    """
    load_plugins()
    config = deep_merge(config, {})
    check_writable(run_dir_of(config).parent.parent, "results root")
    check_writable(cache_root(), "cache")
    dataset = build_dataset(config, datasets)
    params = dict(config["method"])
    method_name = params.pop("name")
    ctx = MethodContext(config, dataset)
    seed_everything(config["seed"])  # weight initialisation follows the seed too
    parts = METHODS.build(method_name, ctx=ctx, **params)
    run_dir = run_dir_of(config)
    config["output"]["root"] = str(run_dir.parent.parent)
    return Experiment(config, dataset, parts, RunDir(run_dir), ctx.provenance, ctx.weights)


def run_experiment(experiment: Experiment) -> dict[str, Any]:
    """Train (or resume) and write the run directory; a finished run is returned as it is."""
    rundir = experiment.rundir
    if rundir.finished:
        console.print(f"[green]already finished[/] {rundir.path}")
        return rundir.metrics()
    trainer = Trainer(experiment.config, experiment.dataset, experiment.parts, rundir)
    writes = is_main_rank()  # under torchrun, rank 0 alone writes the run directory (and logs)
    if writes:
        rundir.start(experiment.config)
        info = RunInfo(rundir.path, rundir.path.name, config_id(experiment.config), experiment.config)
        trainer.loggers = open_loggers(logger_names(experiment.config), info)
    try:
        return _train_and_write(experiment, trainer, writes)
    finally:
        trainer.loggers.close()


def _train_and_write(experiment: Experiment, trainer: Trainer, writes: bool) -> dict[str, Any]:
    rundir = experiment.rundir
    started = time.perf_counter()
    result = trainer.fit()
    dataset, config = experiment.dataset, experiment.config
    metrics = {
        "status": FINISHED,
        "method": config["method"]["name"],
        "dataset": dataset.name,
        "label": config["label"],
        "seed": config["seed"],
        "config_hash": rundir.path.name.rsplit("_", 1)[-1],
        "config_id": config_id(config),  # seed-free: runs sharing it are seeds of one experiment
        "map": {k: result.metrics[k] for k in ("total", "head", "medium", "tail")},
        "per_class_ap": result.metrics["per_class_ap"],
        "metrics": evaluate_metrics(Scored(result.scores, dataset.test.targets, dataset.groups,
                                           experiment.parts.score)),  # every metric but mAP; docs/metrics.md
        "classes_without_test_positives": classes_without_test_positives(dataset.test.targets, dataset.class_names),
        "class_names": dataset.class_names,
        "class_freq": dataset.class_freq,
        "groups": {k: v for k, v in dataset.groups.items()},
        "num_train": len(dataset.train),
        "num_test": len(dataset.test),
        "selection": result.selection,
        "epochs": result.epochs,
        "stages": [stage.name for stage in experiment.parts.stages],
        "train_seconds": result.train_seconds,
        "wall_time_s": time.perf_counter() - started,
        "device": result.device,
        "amp": result.amp,
        "feature_cache": result.feature_cache,
        "provenance": experiment.provenance,
        "weights": experiment.weights,  # part -> source name, file name and sha256 of the weights it loaded
        "code": code_version(),  # ltbench version, git commit and dirty flag (None outside a checkout)
        "smoke": is_smoke(experiment.provenance, config["label"]),  # random weights stand in for pretrained ones
        "versions": _versions(),
        "machine": _machine(),
    }
    if not writes:
        return metrics
    selected = best_test_epoch(result.history)
    if selected is not None:  # what choosing the epoch on the test set would report: never the result
        metrics["test_selected"] = selected.as_json()
    replicates = run_end_replicates(result.scores, dataset.test.targets, experiment.parts.score, metrics)
    rundir.finish(metrics, result.scores, dataset.test.targets, experiment.parts.score, replicates, result.model,
                  trainer.frozen, config["train"]["keep_checkpoint"])
    trainer.loggers.log_final(metrics, config, run_figures(rundir.path))
    return metrics


@dataclass
class RunResult:
    """What ``run`` returns: where the run was written, its resolved config and its metrics."""

    run_dir: Path
    config: Config
    metrics: dict[str, Any]
    reused: bool = False  # it had finished before this call


def run_config(config: Config, ranks: Distributed | None = None, wait: bool = False,
               datasets: dict[str, LTDataset] | None = None) -> RunResult:
    """Build, lock and train (or resume, or reuse) the run of a config that ``resolve_config`` returned.

    A run another live process trains raises ``RunInProgress`` (with ``wait``,
    waits for it, then reuses it); under torchrun rank 0 holds the lock for all
    ranks. ``datasets`` lets a suite reuse a dataset already built.
    """
    experiment = build_experiment(config, datasets)
    with main_rank_lock(lambda: experiment.rundir.lock(wait), ranks):  # never trained by two processes at once
        reused = experiment.rundir.finished
        metrics = run_experiment(experiment)
    return RunResult(experiment.run_dir, experiment.config, metrics, reused)


def run(method: str | None = None, dataset: str | None = None, config: str | Path | None = None,
        overrides: Sequence[str] = (), extra: Config | None = None) -> RunResult:
    """Resolve, build and train one run (or return it if it has finished): ``ltbench run`` from Python."""
    return run_config(resolve_config(method, dataset, config, overrides, extra))


def _versions() -> dict[str, str]:
    import timm
    import torch

    import ltbench

    return {"ltbench": ltbench.__version__, "python": platform.python_version(), "torch": torch.__version__,
            "timm": timm.__version__, "numpy": np.__version__}


def _machine() -> dict[str, Any]:
    """What the numbers were computed on: float results are bit-identical on one machine, not across CPU kernels."""
    import torch

    return {"arch": platform.machine(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "threads": torch.get_num_threads(),
            "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None}


def format_map(metrics: dict[str, Any]) -> str:
    """The four mAPs on one line, and the smoke-run warning beside them when the run's weights are random."""
    m = metrics["map"]
    line = f"mAP total {m['total']:.2f} | head {m['head']:.2f} | medium {m['medium']:.2f} | tail {m['tail']:.2f}"
    return line + (f"  ({smoke_note(metrics['method'])})" if run_is_smoke(metrics) else "")

