"""``ltbench plot``: per-class AP vs frequency, 95% intervals, the per-class AP heatmap and learning curves."""

from __future__ import annotations

import argparse

from ltbench.cli.table import add_report_filters, collect, each_suite, warn
from ltbench.paths import results_root


def cmd_plot(args: argparse.Namespace, extra: list[str]) -> int:
    for one in each_suite(args):
        _plot(one)
    return 0


def _plot(args: argparse.Namespace) -> None:
    from pathlib import Path

    from ltbench.reports import build_table, plot_ap_vs_frequency, plot_class_heatmap, plot_curves, plot_intervals

    collection = collect(args)
    frame = build_table(collection)
    warn(collection.problems)
    stem = Path(args.out or results_root() / "plots") / (args.suite or "runs")
    plots = {"ap_vs_frequency": plot_ap_vs_frequency, "intervals": lambda c, s: plot_intervals(c, s, frame),
             "class_ap": plot_class_heatmap, "curves": plot_curves}
    for suffix, plot in plots.items():
        for path in plot(collection, f"{stem}_{suffix}"):
            print(f"wrote {path}")


def add_parser(sub: argparse._SubParsersAction) -> None:
    plot = sub.add_parser("plot", help="per-class AP vs frequency, 95%% intervals, per-class AP heatmap, curves")
    add_report_filters(plot, "plots")
    plot.set_defaults(func=cmd_plot)
