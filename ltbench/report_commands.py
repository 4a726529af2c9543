"""``ltbench table``, ``plot`` and ``compare``: views of run directories, never training."""

from __future__ import annotations

import argparse
import sys

from ltbench.errors import LtbenchError
from ltbench.paths import results_root


def _collect(args: argparse.Namespace):  # noqa: ANN202 - returns a reports.Collection
    from ltbench.reports import collect_runs, find_manifests

    manifests = find_manifests(args.suite) if args.suite else ()
    if args.suite and args.dataset:
        manifests = [m for m in manifests if m.stem == f"{args.suite}_{args.dataset}"]
    if args.suite and not manifests:
        raise LtbenchError(f"No results of suite {args.suite!r} yet; run `ltbench suite {args.suite} --dataset ...` first.")
    collection = collect_runs(args.runs, dataset=args.dataset, method=args.method, manifests=manifests)
    for problem in collection.problems:
        print(f"warning: {problem}", file=sys.stderr)
    if not collection.rows:
        where = "the suite's manifests" if args.suite else args.runs or results_root() / "runs"
        raise LtbenchError(f"No finished runs found under {where} for these filters.")
    return collection


def cmd_table(args: argparse.Namespace, extra: list[str]) -> int:
    from rich.console import Console

    from ltbench.reports import build_table, load_reference, render_rich, write_tables

    collection = _collect(args)
    reference_name = args.reference or (args.suite if args.suite in ("table1", "table2", "table3") else "table1")
    reference = None if reference_name == "none" else load_reference(reference_name)
    table = build_table(collection, reference, oracle=args.oracle)
    Console().print(render_rich(table))
    stem = args.suite or "runs"
    for path in write_tables(table, args.out or results_root() / "tables", stem):
        print(f"wrote {path}")
    return 0


def cmd_plot(args: argparse.Namespace, extra: list[str]) -> int:
    from pathlib import Path

    from ltbench.reports import plot_ap_vs_frequency, plot_curves, plot_group_bars

    collection = _collect(args)
    stem = Path(args.out or results_root() / "plots") / (args.suite or "runs")
    for plot, suffix in ((plot_ap_vs_frequency, "ap_vs_frequency"), (plot_group_bars, "group_map"),
                         (plot_curves, "curves")):
        for path in plot(collection, f"{stem}_{suffix}"):
            print(f"wrote {path}")
    return 0


def cmd_compare(args: argparse.Namespace, extra: list[str]) -> int:
    from ltbench.reports.compare import compare_runs, read_finished, render_comparison

    print(render_comparison(compare_runs(read_finished(args.run_a), read_finished(args.run_b))), end="")
    return 0


def add_report_filters(parser: argparse.ArgumentParser, out: str) -> None:
    parser.add_argument("--suite", help="only the runs of this suite, in its row order")
    parser.add_argument("--dataset", help="only this dataset")
    parser.add_argument("--method", help="only this method")
    parser.add_argument("--runs", help="runs root (default $LTBENCH_RESULTS/runs, else results/runs)")
    parser.add_argument("--out", help=f"output folder (default $LTBENCH_RESULTS/{out}, else results/{out})")
