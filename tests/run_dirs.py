"""Run directories in the format training writes, with known numbers, for report tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from ltbench.config.layering import deep_merge
from ltbench.fileio.atomic import write_json, write_text
from ltbench.reports.reference import METRICS
from ltbench.runs.run_dir import RunDir

CLASS_FREQ = [150, 60, 30, 12, 3]
GROUPS = {"head": [0], "medium": [1, 2], "tail": [3, 4]}


def make_run(
    root: Path,
    name: str,
    dataset: str,
    method: str,
    seed: int,
    maps: tuple[float, ...],
    *,
    encoder: str = "glove",
    label: str | None = None,
    status: str = "finished",
    config_hash: str | None = None,
    config: dict | None = None,
    per_class_ap: list[float] | None = None,
    provenance: dict | None = None,
) -> Path:
    """A run directory in the format training writes, with known numbers; ``config`` is merged into its config."""
    run = root / name
    config = deep_merge({
        "seed": seed,
        "label": label,
        "dataset": {"name": dataset},
        "method": {"name": method},
        "loss": {"name": None},
        "text": {"encoder": encoder},
    }, config or {})
    write_text(run / "config.yaml", yaml.safe_dump(config))
    rng = np.random.default_rng(seed)
    write_json(
        run / "metrics.json",
        {
            "status": status,
            "method": method,
            "dataset": dataset,
            "label": label,
            "seed": seed,
            "config_hash": config_hash or f"{dataset}-{method}-{encoder}-{seed}",
            "map": dict(zip(METRICS, maps)),
            "per_class_ap": per_class_ap or rng.uniform(20, 90, len(CLASS_FREQ)).tolist(),
            "class_names": [f"c{i}" for i in range(len(CLASS_FREQ))],
            "class_freq": CLASS_FREQ,
            "groups": GROUPS,
            "selection": "final",
            "epochs": 3,
            "wall_time_s": 1.0,
            "device": "cpu",
            **({"provenance": provenance} if provenance is not None else {}),
        },
    )
    rundir = RunDir(run)
    rundir.write_history([{"epoch": epoch, "train_loss": 1.0 / epoch, "test_map": maps[0] - 3 + epoch, "lr": 1e-3}
                          for epoch in (1, 2, 3)])
    rundir.write_scores(rng.uniform(size=(6, 5)), fixed_targets(dataset))
    return run


def fixed_targets(dataset: str) -> np.ndarray:
    """One fixed 6 x 5 test set per dataset (every class positive at least once), so a dataset's runs are paired."""
    targets = np.random.default_rng(sum(map(ord, dataset))).integers(0, 2, size=(6, 5))
    targets[-1] = 1
    return targets
