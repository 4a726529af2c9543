"""One experiment, end to end: resolve its config, build it, train or resume it, write its run directory."""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ltbench.config import (
    Config, check_known_keys, config_hash, deep_merge, dump_yaml, load_defaults, load_yaml, parse_overrides,
)
from ltbench.data.base import LTDataset
from ltbench.progress import console
from ltbench.engine.trainer import Trainer, check_settings, seed_everything
from ltbench.methods.base import MethodContext, MethodParts
from ltbench.paths import configs_root, results_root
from ltbench.plugins import load_plugins
from ltbench.registry import DATASETS, METHODS, resolve_params
from ltbench.fileio import digest, write_json, write_text
from ltbench.runs import CONFIG_FILE, METRICS_FILE, SCORES_FILE, RunReadError, read_run, write_scores

HASH_IGNORES = ("output", "label")  # where a run is written and how it is labelled do not change its result


def compose_config(
    method: str | None = None, dataset: str | None = None, config_file: str | Path | None = None,
    overrides: Sequence[str] = (), extra: Config | None = None,
) -> Config:
    """Layer the package defaults, the dataset's and method's YAML, ``config_file``, ``extra`` and ``overrides``."""
    load_plugins()
    explicit = load_yaml(config_file) if config_file else {}
    cli = deep_merge(extra or {}, parse_overrides(overrides))
    for section, name in (("method", method), ("dataset", dataset)):
        if name:
            cli = deep_merge(cli, {section: {"name": name}})
    merged = deep_merge(deep_merge(load_defaults(), explicit), cli)  # to learn the names
    method_name, dataset_name = merged["method"]["name"], merged["dataset"]["name"]
    METHODS.entry(method_name)
    DATASETS.entry(dataset_name)
    layers = [load_defaults()]
    if config_file:
        layers.append(explicit)
    else:
        folder = configs_root() / dataset_name
        for candidate in (folder / f"{method_name}.yaml", folder / "base.yaml"):
            if candidate.is_file():
                layers.append(load_yaml(candidate))
                break
    layers.append(cli)
    config: Config = {}
    for layer in layers:
        config = deep_merge(config, layer)
    check_known_keys(config, layers[0])
    check_settings(config)
    return config


@dataclass
class Experiment:
    """A built experiment: its resolved config, dataset, model and loss, and where it writes."""

    config: Config
    dataset: LTDataset
    parts: MethodParts
    run_dir: Path
    provenance: dict[str, str]

    @property
    def finished(self) -> bool:
        try:
            return read_run(self.run_dir).finished
        except RunReadError:
            return False


def build_experiment(config: Config, datasets: dict[str, LTDataset] | None = None) -> Experiment:
    """Build dataset and method, complete the config with every default, and name the run directory.

    ``datasets`` lets a caller that builds many experiments (a suite) reuse a
    dataset already built with the same resolved settings instead of reading
    its annotations again.
    """
    load_plugins()
    config = deep_merge(config, {})
    dataset_cfg = dict(config["dataset"])
    dataset_name = dataset_cfg.pop("name")
    dataset_params = resolve_params(DATASETS, dataset_name, dataset_cfg)
    config["dataset"] = {"name": dataset_name, **dataset_params}
    datasets = {} if datasets is None else datasets
    dataset_key = digest(config["dataset"])
    if dataset_key not in datasets:
        datasets[dataset_key] = DATASETS.build(dataset_name, **dataset_params)
    dataset = datasets[dataset_key]

    method_cfg = dict(config["method"])
    method_name = method_cfg.pop("name")
    method_params = resolve_params(METHODS, method_name, method_cfg, skip=1)
    config["method"] = {"name": method_name, **method_params}
    ctx = MethodContext(config, dataset)
    seed_everything(config["seed"])  # weight initialisation follows the seed too
    parts = METHODS.build(method_name, ctx, **method_params)
    for section, resolved in ctx.resolved.items():
        config[section] = resolved
    run_hash = config_hash(config, HASH_IGNORES)
    config["output"]["root"] = str(config["output"]["root"] or results_root() / "runs")
    run_dir = Path(config["output"]["root"]) / dataset_name / f"{method_name}_s{config['seed']}_{run_hash}"
    return Experiment(config, dataset, parts, run_dir, ctx.provenance)


def run_experiment(experiment: Experiment) -> dict[str, Any]:
    """Train (or resume) and write the run directory; a finished run is returned as it is."""
    run_dir = experiment.run_dir
    if experiment.finished:
        console.print(f"[green]already finished[/] {run_dir}")
        return read_run(run_dir).metrics
    write_text(run_dir / CONFIG_FILE, dump_yaml(experiment.config))
    started = time.perf_counter()
    result = Trainer(experiment.config, experiment.dataset, experiment.parts, run_dir).fit()
    dataset, config = experiment.dataset, experiment.config
    metrics = {
        "status": "finished",
        "method": config["method"]["name"],
        "dataset": dataset.name,
        "label": config["label"],
        "seed": config["seed"],
        "config_hash": run_dir.name.rsplit("_", 1)[-1],
        "map": {k: result.metrics[k] for k in ("total", "head", "medium", "tail")},
        "per_class_ap": result.metrics["per_class_ap"],
        "class_names": dataset.class_names,
        "class_freq": dataset.class_freq,
        "groups": {k: v for k, v in dataset.groups.items()},
        "num_train": len(dataset.train),
        "num_test": len(dataset.test),
        "selection": result.selection,
        "epochs": result.epochs,
        "train_seconds": result.train_seconds,
        "wall_time_s": time.perf_counter() - started,
        "device": result.device,
        "amp": result.amp,
        "feature_cache": result.feature_cache,
        "provenance": experiment.provenance,
        "versions": _versions(),
        "machine": _machine(),
    }
    write_scores(run_dir / SCORES_FILE, result.scores, dataset.test.targets)
    write_json(run_dir / METRICS_FILE, metrics)
    return metrics


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
    m = metrics["map"]
    return f"mAP total {m['total']:.2f} | head {m['head']:.2f} | medium {m['medium']:.2f} | tail {m['tail']:.2f}"

