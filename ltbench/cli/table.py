"""``ltbench table`` and ``ltbench.table()``: a suite's table from run directories; the run filters ``plot`` and
``compare`` share."""

from __future__ import annotations

import argparse
import sys

from ltbench.errors import LtbenchError
from ltbench.metrics.commands import add_metric_argument
from ltbench.paths import results_root


def collect(args: argparse.Namespace):  # noqa: ANN202 - returns a reports.Collection
    from ltbench.reports import collect_runs, find_manifests

    manifests = find_manifests(args.suite) if args.suite else ()
    if args.suite and args.dataset:
        manifests = [m for m in manifests if m.stem == f"{args.suite}_{args.dataset}"]
    if args.suite and not manifests:
        raise LtbenchError(f"No results of suite {args.suite!r} yet; run `ltbench suite {args.suite} --dataset ...` first.")
    collection = collect_runs(args.runs, dataset=args.dataset, method=getattr(args, "method", None),
                              manifests=manifests)
    if not collection.rows:
        warn(collection.problems)
        where = "the suite's manifests" if args.suite else args.runs or results_root() / "runs"
        raise LtbenchError(f"No finished runs found under {where} for these filters.")
    return collection


def warn(problems: list[str]) -> None:
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)


def table(suite: str | None = None, *, dataset: str | None = None, method: str | None = None,
          runs: str | None = None, reference: str | None = None, oracle: bool = False,
          metric: str = "map"):  # noqa: ANN201 - DataFrame
    """The table as a pandas DataFrame, for a notebook: ``ltbench.table("table1")``; same numbers as ``ltbench table``.

    One row per (label, dataset); ``frame.attrs["notes"]`` holds the footnotes. ``metric``: any name of
    ``ltbench.metrics.METRICS`` (docs/metrics.md).
    """
    args = argparse.Namespace(suite=suite, dataset=dataset, method=method, runs=runs, reference=reference,
                              oracle=oracle, metric=metric)
    return _table(args)


def _table(args: argparse.Namespace):  # noqa: ANN202 - a pandas DataFrame
    from ltbench.reports import build_table, load_reference

    collection = collect(args)
    reference_name = args.reference or (args.suite if args.suite in ("table1", "table2", "table3", "sota") else "table1")
    reference = None if reference_name == "none" else load_reference(reference_name)
    frame = build_table(collection, reference, oracle=args.oracle, metric=getattr(args, "metric", "map"))
    warn(collection.problems)
    return frame


def each_suite(args: argparse.Namespace) -> list[argparse.Namespace]:
    """``--suite table1 table2`` makes one view per suite; without ``--suite``, one of all runs."""
    return [argparse.Namespace(**{**vars(args), "suite": suite}) for suite in args.suite or [None]]


def cmd_table(args: argparse.Namespace, extra: list[str]) -> int:
    from rich.console import Console

    from ltbench.reports import render_rich, write_tables

    for one in each_suite(args):
        frame = _table(one)
        Console().print(render_rich(frame))
        stem = (one.suite or "runs") + ("" if one.metric == "map" else f"_{one.metric}")  # mAP tables keep their names
        for path in write_tables(frame, one.out or results_root() / "tables", stem):
            print(f"wrote {path}")
    return 0


def add_report_filters(parser: argparse.ArgumentParser, out: str) -> None:
    parser.add_argument("--suite", nargs="+", help="only the runs of this suite, in its row order (several: one each)")
    parser.add_argument("--dataset", help="only this dataset")
    parser.add_argument("--method", help="only this method")
    parser.add_argument("--runs", help="runs root (default $LTBENCH_RESULTS/runs, else results/runs)")
    parser.add_argument("--out", help=f"output folder (default $LTBENCH_RESULTS/{out}, else results/{out})")


def add_parser(sub: argparse._SubParsersAction) -> None:
    table = sub.add_parser("table", help="tables (console, Markdown, CSV, LaTeX) from run directories")
    add_report_filters(table, "tables")
    table.add_argument("--reference", help="published numbers to show beside ours: table1, table2, table3 or none")
    table.add_argument("--oracle", action="store_true",
                       help="add the best per-epoch test mAP as a separate column (test-selected, not a valid result)")
    add_metric_argument(table)
    table.set_defaults(func=cmd_table)
