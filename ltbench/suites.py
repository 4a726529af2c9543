"""Suites: named lists of experiments (the paper's tables) run over seeds, resumably.

A suite file ``configs/suites/<name>.yaml`` lists rows, each a method, a row
label and config overrides (optionally per dataset). ``run_suite`` runs every
(row, seed) that has not finished, resumes any that was killed midway from its
checkpoint, and keeps a manifest ``results/suites/<suite>_<dataset>.json`` that
maps row labels to run directories (``ltbench table --suite`` reads it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ltbench.config import Config, deep_merge, load_yaml
from ltbench.errors import LtbenchError
from ltbench.experiment import build_experiment, compose_config, format_map, run_experiment
from ltbench.paths import configs_root, results_root
from ltbench.progress import console
from ltbench.fileio import write_json


@dataclass
class SuiteRow:
    label: str
    method: str
    overrides: Config = field(default_factory=dict)
    per_dataset: dict[str, Config] = field(default_factory=dict)

    def overrides_for(self, dataset: str) -> Config:
        return deep_merge(self.overrides, self.per_dataset.get(dataset, {}))


@dataclass
class Suite:
    name: str
    description: str
    rows: list[SuiteRow]


def suite_names() -> list[str]:
    folder = configs_root() / "suites"
    return sorted(p.stem for p in folder.glob("*.yaml"))


def load_suite(name: str) -> Suite:
    path = configs_root() / "suites" / f"{name}.yaml"
    if not path.is_file():
        raise LtbenchError(f"Unknown suite {name!r}: no {path} (suites: {', '.join(suite_names()) or 'none'}).")
    data = load_yaml(path)
    rows = [SuiteRow(r["label"], r["method"], r.get("overrides", {}), r.get("per_dataset", {}))
            for r in data.get("rows", [])]
    if not rows:
        raise LtbenchError(f"Suite file {path} lists no rows.")
    return Suite(name, data.get("description", ""), rows)


def manifest_path(suite: str, dataset: str) -> Path:
    return results_root() / "suites" / f"{suite}_{dataset}.json"


@dataclass
class SuiteOutcome:
    manifest: Path
    trained: list[Path]
    reused: list[Path]
    failed: list[str]  # one line per (row, seed) that could not run, e.g. missing weights


def run_suite(name: str, dataset: str, seeds: Sequence[int], overrides: Sequence[str] = (),
              rows: Sequence[str] | None = None) -> SuiteOutcome:
    """Run what is missing of suite ``name`` on ``dataset`` for ``seeds``; finished runs are reused."""
    suite = load_suite(name)
    selected = [r for r in suite.rows if rows is None or r.label in rows]
    manifest_file = manifest_path(name, dataset)
    manifest: dict[str, Any] = {"suite": name, "dataset": dataset, "seeds": list(seeds),
                                "rows": [{"label": r.label, "run_dirs": []} for r in selected], "failed": []}
    outcome = SuiteOutcome(manifest_file, [], [], [])
    for index, row in enumerate(selected):
        for seed in seeds:
            try:
                config = compose_config(row.method, dataset, overrides=[*overrides, f"seed={seed}"],
                                        extra=deep_merge(row.overrides_for(dataset), {"label": row.label}))
                experiment = build_experiment(config)
            except LtbenchError as exc:
                outcome.failed.append(f"{row.label} (seed {seed}): {exc}")
                console.print(f"[red]skipped[/] {row.label} seed {seed}: {exc}")
                continue
            (outcome.reused if experiment.finished else outcome.trained).append(experiment.run_dir)
            console.print(f"[bold]{name}[/] {row.label} seed {seed} -> {experiment.run_dir}")
            metrics = run_experiment(experiment)
            console.print(f"  {format_map(metrics)}")
            manifest["rows"][index]["run_dirs"].append(str(experiment.run_dir))
            manifest["failed"] = outcome.failed
            write_json(manifest_file, manifest)  # progress survives an interruption
    manifest["failed"] = outcome.failed
    write_json(manifest_file, manifest)
    return outcome
