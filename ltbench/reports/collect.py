"""Gather finished run directories into table rows: (dataset, label) -> one run per seed.

Reading is forgiving on purpose: a missing, corrupt or unfinished run directory
becomes a one-line problem and is skipped, so one crashed run never hides the
finished ones. Runs come either from scanning a runs root or from suite
manifests; a manifest fixes the row labels and their order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, NamedTuple

from ltbench.errors import LtbenchError
from ltbench.paths import results_root
from ltbench.reports.reference import METRICS, dataset_rank, default_label, label_rank
from ltbench.runs import CONFIG_FILE, METRICS_FILE, RunReadError, RunRecord, read_run

REQUIRED_METRICS = ("dataset", "method", "seed", "config_hash", "map", "per_class_ap", "class_freq")

RowKey = tuple[str, str]  # (dataset, label)


@dataclass
class Collection:
    """Finished runs grouped into rows, plus one line per run directory that was skipped."""

    rows: dict[RowKey, list[RunRecord]] = field(default_factory=dict)  # runs sorted by seed
    labels: list[str] = field(default_factory=list)  # row order of tables
    datasets: list[str] = field(default_factory=list)  # column order of tables
    problems: list[str] = field(default_factory=list)

    def runs(self, dataset: str, label: str) -> list[RunRecord]:
        return self.rows.get((dataset, label), [])


class _Candidate(NamedTuple):
    """A run directory to read, with the row label and dataset a manifest assigns it (if any)."""

    path: Path
    label: str | None = None
    dataset: str | None = None


def collect_runs(
    root: str | Path | None = None,
    *,
    dataset: str | None = None,
    method: str | None = None,
    label: str | None = None,
    manifests: Iterable[str | Path] = (),
) -> Collection:
    """Read every run under ``root`` (default ``results/runs``), or only those the manifests list.

    With manifests, ``root`` is not used; relative run directories in a manifest
    are taken from the working directory. A run's row label is the manifest row's label, else its metrics ``label``,
    else its published name (``reference.ROW_LABELS``), else its method name.
    """
    manifest_paths = [Path(m) for m in manifests]
    if manifest_paths:
        candidates = [c for m in manifest_paths for c in _manifest_candidates(m)]
    else:
        candidates = [_Candidate(p) for p in _run_dirs(Path(root) if root else results_root() / "runs")]
    problems: list[str] = []
    grouped: dict[RowKey, list[RunRecord]] = {}
    for candidate in candidates:
        record = _read_finished(candidate.path, problems)
        if record is None:
            continue
        metrics = record.metrics
        run_label = candidate.label or metrics.get("label") or default_label(record.config)
        if candidate.dataset is not None and metrics["dataset"] != candidate.dataset:
            problems.append(
                f"{candidate.path}: dataset {metrics['dataset']!r}, but its manifest is for {candidate.dataset!r}"
            )
            continue
        wanted = {"dataset": dataset, "method": method, "label": label}
        actual = {"dataset": metrics["dataset"], "method": metrics["method"], "label": run_label}
        if any(value is not None and actual[key] != value for key, value in wanted.items()):
            continue
        grouped.setdefault((metrics["dataset"], run_label), []).append(record)
    rows = {key: _one_per_seed(key, runs, problems) for key, runs in grouped.items()}
    labels = list(dict.fromkeys(row_label for _, row_label in rows))
    if not manifest_paths:  # a manifest's row order is kept as written
        labels.sort(key=label_rank)
    datasets = sorted({ds for ds, _ in rows}, key=dataset_rank)
    return Collection(rows, labels, datasets, problems)


def find_manifests(suite: str, suites_dir: str | Path | None = None) -> list[Path]:
    """The manifests a suite wrote, one per dataset: ``<suites_dir>/<suite>_<dataset>.json``."""
    directory = Path(suites_dir) if suites_dir else results_root() / "suites"
    found = sorted(directory.glob(f"{suite}_*.json"))
    if not found:
        raise LtbenchError(f"No manifests for suite {suite!r} in {directory}; run the suite first.")
    return found


def _run_dirs(root: Path) -> list[Path]:
    """Every directory under ``root`` holding a metrics.json or a config.yaml, sorted."""
    if not root.is_dir():
        raise LtbenchError(f"Runs root {root} does not exist.")
    return sorted({p.parent for name in (METRICS_FILE, CONFIG_FILE) for p in root.rglob(name)})


def _manifest_candidates(path: Path) -> list[_Candidate]:
    """Run directories of a suite manifest, in row order; relative paths are taken from the cwd."""
    try:
        manifest = json.loads(path.read_text())
        return [
            _Candidate(Path(run_dir), row["label"], manifest["dataset"])
            for row in manifest["rows"]
            for run_dir in row["run_dirs"]
        ]
    except FileNotFoundError:
        raise LtbenchError(f"Manifest {path} does not exist.") from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise LtbenchError(f"Manifest {path} is not a suite manifest ({type(exc).__name__}: {exc}).") from None


def _read_finished(path: Path, problems: list[str]) -> RunRecord | None:
    """The run at ``path`` if it is readable, finished and complete; else note why and return None."""
    try:
        record = read_run(path)
    except RunReadError as exc:
        problems.append(str(exc))
        return None
    metrics = record.metrics
    if not record.finished:
        problems.append(f"{path}: unfinished (status {metrics.get('status')!r})")
        return None
    missing = [key for key in REQUIRED_METRICS if key not in metrics]
    missing += [f"map.{m}" for m in METRICS if m not in (metrics.get("map") or {})]
    if missing:
        problems.append(f"{path}: {METRICS_FILE} lacks {', '.join(missing)}")
        return None
    return record


def _one_per_seed(key: RowKey, runs: list[RunRecord], problems: list[str]) -> list[RunRecord]:
    """Drop repeats of the same seed and config (keeping the first path), sorted by seed."""
    kept: dict[tuple[int, str], RunRecord] = {}
    for run in runs:
        ident = (run.metrics["seed"], run.metrics["config_hash"])
        if ident in kept:
            problems.append(f"{run.path}: same seed and config as {kept[ident].path}; skipped")
        else:
            kept[ident] = run
    seeds = [seed for seed, _ in kept]
    for seed in sorted({s for s in seeds if seeds.count(s) > 1}):
        problems.append(f"{key[0]} / {key[1]}: seed {seed} appears with different configs; all are kept")
    return sorted(kept.values(), key=lambda r: r.metrics["seed"])
