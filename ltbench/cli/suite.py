"""``ltbench suite NAME --dataset D``: a paper table's experiments over seeds, skipping finished ones."""

from __future__ import annotations

import argparse
import sys

from ltbench.cli.options import add_configs_option, split_overrides


def cmd_suite(args: argparse.Namespace, extra: list[str]) -> int:
    from ltbench.launch.launchers import print_plan, run_suite
    from ltbench.launch.options import launch_options
    from ltbench.loggers.options import log_overrides

    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    overrides = split_overrides(extra) + log_overrides(args)  # every run the suite starts logs
    if args.dry_run:
        return print_plan(args.name, args.dataset, seeds, overrides, args.rows)
    outcome = run_suite(args.name, args.dataset, seeds, overrides, args.rows, launch_options(args))
    if outcome.submitted:
        print(f"suite {args.name} on {args.dataset}, seeds {seeds}: {len(outcome.submitted)} SLURM jobs submitted "
              f"({', '.join(outcome.submitted)}); they record their runs in {outcome.manifest}")
        return 0
    print(f"suite {args.name} on {args.dataset}, seeds {seeds}: {len(outcome.trained)} trained, "
          f"{len(outcome.reused)} already finished, {len(outcome.failed)} skipped; manifest {outcome.manifest}")
    for line in outcome.failed:
        print(f"  skipped {line}", file=sys.stderr)
    return 1 if outcome.failed and not (outcome.trained or outcome.reused) else 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ltbench.launch.options import add_launch_arguments
    from ltbench.loggers.options import add_log_argument

    suite = sub.add_parser("suite", help="run a paper table's experiments over seeds, skipping finished ones",
                           epilog="Other options are config overrides applied to every run.")
    suite.add_argument("name", help="suite in suites/ of the config folders (table1, table2, table3, prompts, sota)")
    add_configs_option(suite)
    suite.add_argument("--dataset", required=True)
    suite.add_argument("--seeds", type=int, default=1, help="number of seeds (default 1)")
    suite.add_argument("--first-seed", type=int, default=1, help="seeds are first-seed, first-seed+1, ...")
    suite.add_argument("--rows", nargs="+", help="only these row labels")
    add_launch_arguments(suite)
    add_log_argument(suite)
    suite.set_defaults(func=cmd_suite)
