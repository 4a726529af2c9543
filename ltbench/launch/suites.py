"""Suites: named lists of experiments (the paper's tables) run over seeds, resumably.

A suite file ``suites/<name>.yaml`` in a config folder (``paths.config_search_path``)
lists rows, each a method, a row label and config overrides (optionally per dataset). Running a suite
(``ltbench.launch.launchers.run_suite``) runs every (row, seed) that has not finished, resumes any that was
killed midway from its checkpoint, and keeps a manifest ``results/suites/<suite>_<dataset>.json`` that
maps row labels to run directories (``ltbench table --suite`` reads it). A row
may name another config ``<dataset>/<name>.yaml`` to train with (``config:``),
e.g. Table 3's baseline row trains on CPRFL's recipe.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ltbench.config.layering import Config, deep_merge, load_yaml
from ltbench.errors import LtbenchError
from ltbench.paths import config_search_path, find_config, results_root
from ltbench.fileio.atomic import write_json
from ltbench.fileio.locks import manifest_lock


@dataclass
class SuiteRow:
    label: str
    method: str
    overrides: Config = field(default_factory=dict)
    per_dataset: dict[str, Config] = field(default_factory=dict)
    config: str | None = None  # a config in configs/<dataset>/ to use instead of the method's own

    def overrides_for(self, dataset: str) -> Config:
        return deep_merge(self.overrides, self.per_dataset.get(dataset, {}))

    def config_file(self, dataset: str) -> Path | None:
        if self.config is None:
            return None
        relative = f"{dataset}/{self.config}.yaml"
        path = find_config(relative)
        if path is None:
            raise LtbenchError(f"Suite row {self.label!r} trains with {relative}, which no config folder holds "
                               f"({', '.join(map(str, config_search_path()))}).")
        return path


@dataclass
class Suite:
    name: str
    description: str
    rows: list[SuiteRow]

    def select(self, labels: Sequence[str] | None) -> list[SuiteRow]:
        """The rows named in ``labels`` (all when None); an unknown label is an error."""
        known = [row.label for row in self.rows]
        unknown = [label for label in labels or [] if label not in known]
        if unknown:
            raise LtbenchError(f"Suite {self.name} has no row {', '.join(map(repr, unknown))} "
                               f"(rows: {', '.join(known)}).")
        return [row for row in self.rows if labels is None or row.label in labels]


def suite_names() -> list[str]:
    """Suites in every config folder of the search path."""
    return sorted({p.stem for folder in config_search_path() for p in (folder / "suites").glob("*.yaml")})


def load_suite(name: str) -> Suite:
    path = find_config(f"suites/{name}.yaml")
    if path is None:
        raise LtbenchError(f"Unknown suite {name!r}: no suites/{name}.yaml in the config folders "
                           f"(suites: {', '.join(suite_names()) or 'none'}).")
    data = load_yaml(path)
    rows = []
    for index, row in enumerate(data.get("rows") or []):
        if not isinstance(row, dict) or not row.get("label") or not row.get("method"):
            raise LtbenchError(f"Suite file {path}: row {index + 1} needs a label and a method.")
        rows.append(SuiteRow(row["label"], row["method"], row.get("overrides", {}), row.get("per_dataset", {}),
                             row.get("config")))
    if not rows:
        raise LtbenchError(f"Suite file {path} lists no rows.")
    return Suite(name, data.get("description", ""), rows)


def manifest_path(suite: str, dataset: str) -> Path:
    return results_root() / "suites" / f"{suite}_{dataset}.json"


class Manifest:
    """``results/suites/<suite>_<dataset>.json``: row label -> run directories, merged across calls.

    A call with a subset of rows or seeds adds to what earlier calls recorded; a
    row's new run of a seed replaces its earlier one (the row's config changed),
    and a failure is forgotten once its (row, seed) has run. Every record reads,
    merges and writes the file under a lock, so suite processes sharing one
    manifest (a pool, a SLURM array, two terminals) keep each other's rows.
    """

    def __init__(self, suite: Suite, dataset: str) -> None:
        self.suite, self.dataset = suite, dataset
        self.path = manifest_path(suite.name, dataset)

    def _read(self) -> dict[str, Any]:
        """The file's rows laid out in the suite's row order (rows no longer in the suite are dropped)."""
        try:
            old = json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError):
            old = {}
        old = old if isinstance(old, dict) else {}
        old_dirs = {row.get("label"): row.get("run_dirs", []) for row in old.get("rows", [])}
        rows = [{"label": row.label, "run_dirs": list(old_dirs.get(row.label, []))} for row in self.suite.rows]
        listed = {run for row in rows for run in row["run_dirs"]}
        return {
            "suite": self.suite.name, "dataset": self.dataset, "seeds": sorted(old.get("seeds", [])),
            "rows": rows, "failed": list(old.get("failed", [])),
            "overrides": {run: o for run, o in (old.get("overrides") or {}).items() if run in listed},
        }

    def record(self, row: SuiteRow, seed: int, run_dir: Path | None, failure: str | None = None,
               overrides: Sequence[str] = ()) -> None:
        """Note one (row, seed): its run directory and the suite call's config overrides, or why it failed; then save.

        The overrides let a table tell a run of the row's current recipe from one of an earlier recipe
        (``reports.recipe_age``).
        """
        prefix = failure_prefix(row, seed)
        with manifest_lock(self.path):
            data = self._read()
            data["failed"] = sorted(f for f in data["failed"] if not f.startswith(prefix))
            if failure:
                data["failed"] = sorted([*data["failed"], prefix + failure])
            if run_dir is not None:  # replaces the row's run of this seed from an earlier config
                entry = next(r for r in data["rows"] if r["label"] == row.label)
                kept = [d for d in entry["run_dirs"] if run_seed(d) != seed] + [run_id(run_dir)]
                entry["run_dirs"] = sorted(kept, key=lambda d: run_seed(d) or 0)  # seed order, whatever the call order
                listed = {run for r in data["rows"] for run in r["run_dirs"]} - {run_id(run_dir)}
                data["overrides"] = {run: o for run, o in data["overrides"].items() if run in listed}
                if overrides:
                    data["overrides"][run_id(run_dir)] = list(overrides)
            if not data["overrides"]:
                del data["overrides"]  # manifests of suites run without overrides look as they always did
            data["seeds"] = sorted(set(data["seeds"]) | {seed})
            write_json(self.path, data)  # progress survives an interruption


def run_id(run_dir: Path) -> str:
    """A run as a manifest names it: relative to the results root (so the folder can move), else absolute."""
    path, root = Path(run_dir).resolve(), results_root().resolve()
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def run_seed(run_dir: str) -> int | None:
    """The seed in a run directory's name (``<method>_s<seed>_<config hash>``)."""
    match = re.search(r"_s(\d+)_[0-9a-f]+$", Path(run_dir).name)
    return int(match.group(1)) if match else None


def failure_prefix(row: SuiteRow, seed: int) -> str:
    return f"{row.label} (seed {seed}): "
