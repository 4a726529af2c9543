"""The metric parts of the CLI: ``--metric`` on ``table``/``compare``, ``list metrics``, ``eval --from-scores``.

Only argparse is imported at parse time; the metrics themselves load when a command runs.
"""

from __future__ import annotations

import argparse

DEFAULT_METRIC = "map"  # equals ltbench.metrics.DEFAULT; published tables stay in mAP


def add_metric_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metric", default=DEFAULT_METRIC,
                        help="what the cells show: map (default), cf1, of1, cf1_top3, cf1_mmpretrain, auroc, "
                             "image_map, ... (`ltbench list metrics` lists and defines them all)")


def list_metrics() -> int:
    """``ltbench list metrics``: every name with its title, decision rule, definition and source."""
    from ltbench.metrics import METRICS

    print("metrics (any of them: ltbench table --metric NAME, ltbench compare --metric NAME; docs/metrics.md)")
    for metric in METRICS.values():
        print(f"\n{metric.name}  {metric.title}\n  {metric.definition}\n  predicted: {metric.decision}\n"
              f"  source: {metric.source}")
    return 0


def print_recorded_metrics(run_dir: str) -> int:
    """``ltbench eval RUN --from-scores``: recompute, record and print every metric of a finished run."""
    from ltbench.metrics.recorded import record_metrics
    from ltbench.metrics.scored import REPORTED

    metrics = record_metrics(run_dir)
    print(f"{run_dir}: recorded in metrics.json (%, total / head / medium / tail)")
    print(f"  {'map':<22}" + "".join(_cell(metrics['map'].get(g)) for g in REPORTED) + "  ranking, no threshold")
    for name, entry in metrics["metrics"].items():
        cells = "".join(_cell(entry.get(g)) for g in REPORTED)
        print(f"  {name:<22}{cells}  {entry.get('decision') or 'not applicable: ' + entry['not_applicable']}")
    return 0


def _cell(value: float | None) -> str:
    return f"{'–' if value is None or value != value else f'{value:.2f}':>8}"
