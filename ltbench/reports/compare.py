"""Two run directories side by side: what changed in the config, and what that did to the metrics.

``compare_runs`` computes every difference once; ``render_comparison`` only
formats it. The config diff lists every dotted key whose value differs (seed,
label and output included, since they tell the runs apart too); a key one run
lacks shows as ``–``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ltbench.errors import LtbenchError
from ltbench.reports.reference import METRICS
from ltbench.runs import RunDir, RunReadError, RunRecord, RunUnfinished, flat_config, format_value

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
    metrics: list[Change]  # total/head/medium/tail mAP, all four
    classes: list[ClassChange] | None  # None when the runs' classes differ


def read_finished(path: str | Path) -> RunRecord:
    """A finished run directory, else a one-sentence error naming it."""
    try:
        return RunDir(path).finished_record()
    except RunUnfinished as exc:
        raise LtbenchError(f"Run {path} has not finished (status {exc.status!r}); "
                           f"finish it or pass another run directory.") from None
    except RunReadError as exc:
        raise LtbenchError(f"Cannot compare {exc}; pass a run directory with config.yaml and metrics.json.") from None


def compare_runs(a: RunRecord, b: RunRecord) -> Comparison:
    """The config keys that differ between ``a`` and ``b``, their group mAPs and their per-class APs."""
    old, new = flat_config(a.config), flat_config(b.config)
    config = [Change(key, old.get(key, ABSENT), new.get(key, ABSENT))
              for key in sorted(old.keys() | new.keys())
              if format_value(old.get(key, ABSENT)) != format_value(new.get(key, ABSENT))]
    metrics = [Change(m, float(a.metrics["map"][m]), float(b.metrics["map"][m])) for m in METRICS]
    return Comparison(a.path, b.path, config, metrics, _class_changes(a, b))


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
    lines += ["", f"{'mAP (%)':<12}{'A':>8}{'B':>8}{'B − A':>9}"]
    lines += [f"{c.name:<12}{_values(c.old, c.new)}" for c in comparison.metrics]
    if comparison.classes is None:
        lines += ["", "per-class AP not compared: the runs have different classes"]
    else:
        lines += ["", f"{'AP (%)':<16}{'group':<8}{'A':>8}{'B':>8}{'B − A':>9}"]
        lines += [f"{c.name:<16}{c.group:<8}{_values(c.old, c.new)}" for c in comparison.classes]
    return "\n".join(lines) + "\n"
