"""Gather finished run directories into table rows: (dataset, label) -> one run per seed.

A row only ever averages seeds of ONE experiment: runs are grouped by their
seed-free config id (``runs.config_id``). When one label holds runs of several
configs on a dataset (e.g. ERM run for 3 and for 5 epochs), each config becomes
its own row, labelled with the keys that tell them apart, "ERM [train.epochs=3]",
rather than being refused: the table still shows everything that was run, and
nothing that is not seeds of one config is ever averaged.

Reading is forgiving on purpose: a missing, corrupt or unfinished run directory
becomes a one-line problem and is skipped, so one crashed run never hides the
finished ones. Runs come either from scanning a runs root or from suite
manifests; a manifest fixes the row labels and their order, and its runs made by
an earlier recipe than the row resolves to now become a row of their own,
"Focal [earlier recipe]" (``recipe_age``), never averaged with current ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, NamedTuple

from ltbench.errors import LtbenchError
from ltbench.paths import results_root
from ltbench.reports.recipe_age import EARLIER_RECIPE, CurrentRecipes
from ltbench.reports.reference import METRICS, dataset_rank, default_label, label_rank
from ltbench.runs.random_weights import run_is_smoke
from ltbench.runs.run_dir import (
    CONFIG_FILE, CONFIG_ID_IGNORES, METRICS_FILE, RunDir, RunReadError, RunRecord, config_id, flat_config,
    format_value,
)

REQUIRED_METRICS = ("dataset", "method", "seed", "config_hash", "map", "per_class_ap", "class_freq")

RowKey = tuple[str, str]  # (dataset, label)
SMOKE_KEY = " smoke"  # appended to a config id: smoke runs (random weights) are never seeds of a real experiment
EARLIER_KEY = " earlier"  # appended to a config id: runs of an earlier recipe are never seeds of the current one
SHOWN_KEYS = 3  # differing config keys named in a split row's label; more are counted


@dataclass
class Collection:
    """Finished runs grouped into rows, plus one line per run directory that was skipped."""

    rows: dict[RowKey, list[RunRecord]] = field(default_factory=dict)  # runs sorted by seed
    labels: list[str] = field(default_factory=list)  # row order of tables
    datasets: list[str] = field(default_factory=list)  # column order of tables
    problems: list[str] = field(default_factory=list)
    earlier: set[RowKey] = field(default_factory=set)  # rows whose runs are of an earlier recipe than the suite's

    def runs(self, dataset: str, label: str) -> list[RunRecord]:
        return self.rows.get((dataset, label), [])

    def smoke(self, dataset: str, label: str) -> bool:
        """Whether the row's runs are smoke runs (random weights); a row never mixes the two."""
        runs = self.runs(dataset, label)
        return bool(runs) and run_is_smoke(runs[0].metrics)

    def earlier_recipe(self, dataset: str, label: str) -> bool:
        """Whether the row's runs were made by an earlier recipe than its suite row resolves to now."""
        return (dataset, label) in self.earlier


class _Candidate(NamedTuple):
    """A run directory to read, with the suite, row label, dataset and call overrides a manifest assigns it."""

    path: Path
    label: str | None = None
    dataset: str | None = None
    suite: str | None = None
    overrides: tuple[str, ...] = ()


def collect_runs(
    root: str | Path | None = None,
    *,
    dataset: str | None = None,
    method: str | None = None,
    label: str | None = None,
    manifests: Iterable[str | Path] = (),
    exclude: Iterable[Path] = (),
    recipes: CurrentRecipes | None = None,
    read: Mapping[Path, RunRecord] | None = None,
) -> Collection:
    """Read every run under ``root`` (default ``results/runs``) but those in ``exclude``, or only those the
    manifests list.

    With manifests, ``root`` is not used; a manifest names its runs relative to
    the results root that holds it (``manifest_run_dir``). A run's row label is the manifest row's label, else its metrics ``label``,
    else its published name (``reference.ROW_LABELS``), else its method name. ``recipes`` resolves the
    manifest rows' current recipes (``recipe_age``); a caller reading several manifests may share one, and
    the runs it read already (``read_listed``) as ``read``.
    """
    manifest_paths = [Path(m) for m in manifests]
    if manifest_paths:
        candidates = [c for m in manifest_paths for c in _manifest_candidates(m)]
    else:
        excluded = {Path(p).resolve() for p in exclude}
        candidates = [_Candidate(p) for p in _run_dirs(Path(root) if root else results_root() / "runs")
                      if not excluded or p.resolve() not in excluded]
    problems: list[str] = []
    recipes = recipes or CurrentRecipes()
    grouped: dict[RowKey, dict[str, list[RunRecord]]] = {}  # (dataset, label) -> config id -> runs
    for candidate in candidates:
        record = read.get(candidate.path) if read else None
        record = record or _read_finished(candidate.path, problems)
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
        experiment = config_id(record.config) + (SMOKE_KEY if run_is_smoke(metrics) else "")  # never averaged together
        if candidate.suite and recipes.is_earlier(record, candidate.suite, run_label, candidate.overrides):
            experiment += EARLIER_KEY
        grouped.setdefault((metrics["dataset"], run_label), {}).setdefault(experiment, []).append(record)
    rows, earlier = {}, set()
    for (dataset_name, row_label), by_config in grouped.items():
        if len(by_config) > 1:
            problems.append(f"{dataset_name} / {row_label}: runs of {len(by_config)} different configs; "
                            f"shown as separate rows")
        old = {ident: runs for ident, runs in by_config.items() if ident.endswith(EARLIER_KEY)}
        smoke = {ident: runs for ident, runs in by_config.items() if ident.endswith(SMOKE_KEY)}
        real = {ident: runs for ident, runs in by_config.items() if ident not in smoke and ident not in old}
        split = split_labels(row_label, real) if real else {}
        if smoke:  # a label's smoke runs are a row of their own, named apart when real runs share the label
            split |= split_labels(f"{row_label} [random weights]" if real else row_label, smoke)
        if old:  # always named: an earlier recipe's numbers are not the row's
            old_split = split_labels(f"{row_label} [{EARLIER_RECIPE}]", old)
            earlier |= {(dataset_name, shown) for shown in old_split}
            split |= old_split
        for shown, runs in split.items():
            rows[(dataset_name, shown)] = _one_per_seed(runs, problems)
    labels = list(dict.fromkeys(row_label for _, row_label in rows))
    if not manifest_paths:  # a manifest's row order is kept as written
        labels.sort(key=lambda shown: (label_rank(shown.split(" [", 1)[0]), shown))
    datasets = sorted({ds for ds, _ in rows}, key=dataset_rank)
    return Collection(rows, labels, datasets, problems, earlier)


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


def manifest_run_dir(manifest: Path, entry: str) -> Path:
    """A manifest's run entry as a path: relative to the results root holding the manifest (``<root>/suites/``).

    Manifests written before run ids named runs from the folder the suite ran in
    (``results/mnist_lt/runs/...``); such an entry is matched by its longest tail
    found under the root, so old results folders read from anywhere too.
    """
    path = Path(entry)
    if path.is_absolute():
        return path
    root = manifest.resolve().parent.parent
    for start in range(len(path.parts)):
        candidate = root.joinpath(*path.parts[start:])
        if candidate.is_dir():
            return candidate
    return path  # not under the root: as the working directory sees it


def _manifest_candidates(path: Path) -> list[_Candidate]:
    """Run directories of a suite manifest, in row order."""
    try:
        manifest = json.loads(path.read_text())
        overrides = manifest.get("overrides") or {}
        return [
            _Candidate(manifest_run_dir(path, run_dir), row["label"], manifest["dataset"], manifest.get("suite"),
                       tuple(overrides.get(run_dir, ())))
            for row in manifest["rows"]
            for run_dir in row["run_dirs"]
        ]
    except FileNotFoundError:
        raise LtbenchError(f"Manifest {path} does not exist.") from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise LtbenchError(f"Manifest {path} is not a suite manifest ({type(exc).__name__}: {exc}).") from None


def read_listed(manifests: Iterable[Path]) -> dict[Path, RunRecord]:
    """The readable, finished runs the manifests list, by path, for ``collect_runs(read=...)``: a run listed by
    several manifests is read once, and a caller may read runs while something else is under way. A run or
    manifest that cannot be read is left to ``collect_runs``, which reports it."""
    paths: dict[Path, None] = {}
    for manifest in manifests:
        try:
            paths |= dict.fromkeys(candidate.path for candidate in _manifest_candidates(manifest))
        except LtbenchError:
            continue
    return {path: record for path in paths if (record := _read_finished(path, [])) is not None}


def _read_finished(path: Path, problems: list[str]) -> RunRecord | None:
    """The run at ``path`` if it is readable, finished and complete; else note why and return None."""
    try:
        record = RunDir(path).finished_record()
    except RunReadError as exc:  # unreadable or unfinished
        problems.append(str(exc))
        return None
    metrics = record.metrics
    missing = [key for key in REQUIRED_METRICS if key not in metrics]
    missing += [f"map.{m}" for m in METRICS if m not in (metrics.get("map") or {})]
    if missing:
        problems.append(f"{path}: {METRICS_FILE} lacks {', '.join(missing)}")
        return None
    return record


def split_labels(label: str, by_config: dict[str, list[RunRecord]]) -> dict[str, list[RunRecord]]:
    """One row label per config: ``label`` alone, or ``label [key=value, ...]`` naming the keys that differ."""
    if len(by_config) == 1:
        return {label: next(iter(by_config.values()))}
    flats = {ident: flat_config({k: v for k, v in runs[0].config.items() if k not in CONFIG_ID_IGNORES})
             for ident, runs in by_config.items()}
    keys = {key for flat in flats.values() for key in flat}
    differing = [key for key in keys if len({format_value(flat.get(key, "–")) for flat in flats.values()}) > 1]
    differing.sort(key=lambda key: (_telling_rank(key, flats.values()), key))
    shown = {}
    for ident, flat in flats.items():
        parts = [f"{key}={format_value(flat.get(key, '–'))}" for key in differing[:SHOWN_KEYS]]
        if len(differing) > SHOWN_KEYS:
            parts.append(f"+{len(differing) - SHOWN_KEYS} more, config {ident}")
        shown[f"{label} [{', '.join(parts)}]"] = by_config[ident]
    return shown


def _telling_rank(key: str, flats: Iterable[dict[str, object]]) -> int:
    """Keys that tell configs apart best come first: component names, then keys all configs set, then the rest.

    A different ``method.name`` or ``loss.name`` explains the parameters that
    only one of the configs has, so those are named last.
    """
    if key.endswith(".name"):
        return 0
    return 1 if all(key in flat for flat in flats) else 2


def _one_per_seed(runs: list[RunRecord], problems: list[str]) -> list[RunRecord]:
    """Runs of one config: drop repeats of a seed (keeping the first path), sorted by seed."""
    kept: dict[int, RunRecord] = {}
    for run in runs:
        seed = run.metrics["seed"]
        if seed in kept:
            problems.append(f"{run.path}: same seed and config as {kept[seed].path}; skipped")
        else:
            kept[seed] = run
    return sorted(kept.values(), key=lambda r: r.metrics["seed"])
