"""``ltbench compare A B``: B - A per group with its 95% interval, for two runs or two table rows over their seeds."""

from __future__ import annotations

import argparse

from ltbench.cli.table import collect
from ltbench.errors import LtbenchError
from ltbench.metrics.commands import add_metric_argument


def cmd_compare(args: argparse.Namespace, extra: list[str]) -> int:
    from pathlib import Path

    from ltbench.reports.compare import compare_runs, read_finished, render_comparison, render_row_comparison

    if args.suite or args.runs or not (Path(args.run_a).is_dir() and Path(args.run_b).is_dir()):
        if not (args.suite or args.runs):
            raise LtbenchError(f"{args.run_a if not Path(args.run_a).is_dir() else args.run_b} is not a run "
                               f"directory; pass two run directories, or two row labels with --suite or --runs.")
        print(render_row_comparison(collect(args), args.run_a, args.run_b, args.dataset, args.metric), end="")
        return 0
    print(render_comparison(compare_runs(read_finished(args.run_a), read_finished(args.run_b), args.metric)), end="")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    compare = sub.add_parser("compare", help="B − A per group with its 95%% interval and P(B > A): two runs, or two "
                                             "table rows over their seeds (--suite/--runs); plus config and AP diffs")
    compare.add_argument("run_a", metavar="A", help="run directory, or a row label with --suite/--runs (the 'old' side)")
    compare.add_argument("run_b", metavar="B", help="run directory, or a row label with --suite/--runs (the 'new' side)")
    compare.add_argument("--suite", help="A and B are row labels of this suite's table")
    compare.add_argument("--runs", help="A and B are row labels of the runs under this root")
    compare.add_argument("--dataset", help="only this dataset (rows)")
    add_metric_argument(compare)
    compare.set_defaults(func=cmd_compare)
