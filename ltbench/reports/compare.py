"""Two runs (or two table rows over their seeds) side by side: config diff, metric diff, and whether it is real.

``compare_runs`` computes every difference once; ``render_comparison`` only
formats it. The config diff lists every dotted key whose value differs (seed,
label and output included, since they tell the runs apart too); a key one run
lacks shows as ``–``. ``significance`` gives each group's B − A with its 95%
interval and P(B > A), paired on the test images and seeds (``uncertainty``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ltbench.errors import LtbenchError
from ltbench.reports.collect import Collection
from ltbench.reports.evidence import samples_of_rows
from ltbench.metrics import DEFAULT, get_metric
from ltbench.metrics.recorded import recorded_values
from ltbench.reports.reference import METRICS
from ltbench.reports.table import LEVEL_PCT
from ltbench.reports.uncertainty import Difference, difference
from ltbench.runs.run_dir import RunDir, RunReadError, RunRecord, RunUnfinished, flat_config, format_value

ABSENT = "–"


@dataclass(frozen=True)
class Change:
    """One compared value: a config key or a metric, its value in run A and in run B."""

    name: str
    old: Any
    new: Any


@dataclass(frozen=True)
class ClassChange:
    name: str
    group: str  # head, medium or tail
    old: float | None  # None: the class has no positive test image, so no AP
    new: float | None


@dataclass(frozen=True)
class Comparison:
    a: Path
    b: Path
    config: list[Change]  # differing keys only, in key order
    metrics: list[Change]  # total/head/medium/tail of ``metric``, all four
    classes: list[ClassChange] | None  # None when the runs' classes differ
    differences: list[Difference] | str | None = None  # per group, or why there are none
    metric: str = DEFAULT  # ``ltbench.metrics`` name


def significance(a: Sequence[RunRecord], b: Sequence[RunRecord], metric: str = DEFAULT) -> list[Difference] | str:
    """B − A per group with its 95% interval and P(B > A); a sentence instead when they cannot be paired."""
    problems: list[str] = []
    rows = samples_of_rows({"A": list(a), "B": list(b)}, problems, metric)
    if problems:
        return "; ".join(problems)
    if rows["A"].test_set != rows["B"].test_set:
        return "not paired: A and B were tested on different test sets"
    return [difference(rows["A"], rows["B"], i) for i in range(len(METRICS))]


def _header(metric: str) -> str:
    return f"{get_metric(metric).title} (%)"


def _width(metric: str) -> int:
    """The first column's width: the metric's title and one space."""
    return max(12, len(_header(metric)) + 1)


def render_significance(differences: list[Difference] | str, seeds: str = "", metric: str = DEFAULT) -> list[str]:
    """One line per group: B − A in ``metric``, its interval, P(B > A) and whether the interval excludes 0."""
    title = f"B − A, paired on the test images{seeds} ({LEVEL_PCT}% interval, hierarchical bootstrap):"
    if isinstance(differences, str):
        return ["", title, f"  {differences}"]
    width = _width(metric)
    lines = ["", title, f"{_header(metric):<{width}}{'B − A':>8}{f'{LEVEL_PCT}% interval':>20}{'P(B > A)':>10}"]
    for group, d in zip(METRICS, differences):
        interval = f"[{d.interval.low:+.2f}, {d.interval.high:+.2f}]"
        verdict = "significant" if d.significant else "within noise"
        lines.append(f"{group:<{width}}{d.delta:>+8.2f}{interval:>20}{d.improvement:>10.2f}  {verdict}")
    return lines


def read_finished(path: str | Path) -> RunRecord:
    """A finished run directory, else a one-sentence error naming it."""
    try:
        return RunDir(path).finished_record()
    except RunUnfinished as exc:
        raise LtbenchError(f"Run {path} has not finished (status {exc.status!r}); "
                           f"finish it or pass another run directory.") from None
    except RunReadError as exc:
        raise LtbenchError(f"Cannot compare {exc}; pass a run directory with config.yaml and metrics.json.") from None


def compare_runs(a: RunRecord, b: RunRecord, metric: str = DEFAULT) -> Comparison:
    """The config keys that differ between ``a`` and ``b``, their ``metric`` per group and their per-class APs."""
    old, new = flat_config(a.config), flat_config(b.config)
    config = [Change(key, old.get(key, ABSENT), new.get(key, ABSENT))
              for key in sorted(old.keys() | new.keys())
              if format_value(old.get(key, ABSENT)) != format_value(new.get(key, ABSENT))]
    old_values, new_values = recorded_values(a, metric), recorded_values(b, metric)
    metrics = [Change(m, _number(old_values[i]), _number(new_values[i])) for i, m in enumerate(METRICS)]
    return Comparison(a.path, b.path, config, metrics, _class_changes(a, b), significance([a], [b], metric), metric)


def _number(value: float) -> float | None:
    """None for an undefined value (NaN), which the views print as ``–``."""
    return None if np.isnan(value) else float(value)


def _class_changes(a: RunRecord, b: RunRecord) -> list[ClassChange] | None:
    names = a.metrics.get("class_names")
    if not names or names != b.metrics.get("class_names"):
        return None
    group_of = {index: group for group, members in (a.metrics.get("groups") or {}).items() for index in members}
    old, new = a.metrics["per_class_ap"], b.metrics["per_class_ap"]
    return [ClassChange(name, group_of.get(i, ABSENT), old[i], new[i]) for i, name in enumerate(names)]


def _values(old: float | None, new: float | None) -> str:
    """``A``, ``B`` and ``B − A`` in fixed columns; ``–`` where a value is missing."""
    delta = None if old is None or new is None else new - old
    cells = [ABSENT if v is None else f"{v:.2f}" for v in (old, new)]
    return f"{cells[0]:>8}{cells[1]:>8}{ABSENT if delta is None else f'{delta:+.2f}':>9}"


def render_comparison(comparison: Comparison) -> str:
    """Plain text: the config diff (``key: old -> new``), then mAP and per-class AP as A, B and B − A."""
    lines = [f"A: {comparison.a}", f"B: {comparison.b}", "", "config (A -> B):"]
    lines += [f"  {c.name}: {format_value(c.old)} -> {format_value(c.new)}" for c in comparison.config]
    if not comparison.config:
        lines.append("  identical")
    width = _width(comparison.metric)
    lines += ["", f"{_header(comparison.metric):<{width}}{'A':>8}{'B':>8}{'B − A':>9}"]
    lines += [f"{c.name:<{width}}{_values(c.old, c.new)}" for c in comparison.metrics]
    if comparison.differences is not None:
        lines += render_significance(comparison.differences, metric=comparison.metric)
    if comparison.classes is None:
        lines += ["", "per-class AP not compared: the runs have different classes"]
    else:
        lines += ["", f"{'AP (%)':<16}{'group':<8}{'A':>8}{'B':>8}{'B − A':>9}"]
        lines += [f"{c.name:<16}{c.group:<8}{_values(c.old, c.new)}" for c in comparison.classes]
    return "\n".join(lines) + "\n"


def render_row_comparison(collection: Collection, label_a: str, label_b: str, dataset: str | None,
                          metric: str = DEFAULT) -> str:
    """Two table rows (label A, label B) over their seeds: means, B − A, interval and P(B > A) per group."""
    datasets = [dataset] if dataset else collection.datasets
    missing = [label for label in (label_a, label_b) if label not in collection.labels]
    if missing:
        raise LtbenchError(f"No row {missing[0]!r} in these results; pass run directories or one of the rows: "
                           f"{', '.join(collection.labels)}.")
    out = []
    for ds in datasets:
        a, b = collection.runs(ds, label_a), collection.runs(ds, label_b)
        if not a or not b:
            continue
        seeds = [[run.metrics["seed"] for run in runs] for runs in (a, b)]
        paired = ", seeds paired" if sorted(seeds[0]) == sorted(seeds[1]) else ""
        lines = [f"{ds}: A = {label_a} (seeds {_seeds(seeds[0])}), B = {label_b} (seeds {_seeds(seeds[1])})", "",
                 f"{_header(metric):<{_width(metric)}}{'A':>8}{'B':>8}{'B − A':>9}"]
        means = [np.mean([recorded_values(run, metric) for run in runs], axis=0) for runs in (a, b)]
        for i, m in enumerate(METRICS):
            lines.append(f"{m:<{_width(metric)}}{_values(_number(means[0][i]), _number(means[1][i]))}")
        out.append("\n".join(lines + render_significance(significance(a, b, metric), paired, metric)))
    if not out:
        raise LtbenchError(f"Rows {label_a!r} and {label_b!r} share no dataset; pass two rows run on one dataset.")
    return "\n\n".join(out) + "\n"


def _seeds(seeds: list[int]) -> str:
    return " ".join(map(str, seeds))
