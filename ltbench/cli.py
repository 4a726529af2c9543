"""The ``ltbench`` command line.

Options that are not listed below are dotted config overrides, e.g.
``--train.epochs 5`` or ``train.epochs=5``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Callable, Sequence

from ltbench.cli_overrides import split_overrides
from ltbench.errors import LtbenchError
from ltbench.listing import cmd_list
from ltbench.metrics.commands import add_metric_argument, print_recorded_metrics
from ltbench.registry import KINDS
from ltbench.report_commands import add_report_filters, cmd_compare, cmd_plot, cmd_table
from ltbench.fs_errors import describe, is_fs_fault
from ltbench.paths import explicit_configs
from ltbench.recipe_command import add_recipe_parser
from ltbench.leaderboard.command import add_leaderboard_parser
from ltbench.submissions.commands import add_eval_scores_arguments, add_export_parser, cmd_eval_scores

Command = Callable[[argparse.Namespace, list[str]], int]


def cmd_run(args: argparse.Namespace, extra: list[str]) -> int:
    from ltbench.config import dump_yaml
    from ltbench.engine.distributed import init_distributed
    from ltbench.experiment import format_map, run_config
    from ltbench.loggers.options import log_overrides
    from ltbench.resolve import resolve_config
    from ltbench.runs import run_dir_of

    if args.nproc > 1:
        return torchrun(args, extra)
    ranks = init_distributed(args.sync_bn)  # under torchrun: join its process group
    overrides = split_overrides(extra) + log_overrides(args)
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    config = resolve_config(args.method, args.dataset, args.config, overrides)
    if args.print_config:
        print(dump_yaml(config), end="")
        print(f"# run id: {run_dir_of(config).name}")
        return 0
    result = run_config(config, ranks)
    if ranks is None or ranks.is_main:
        metrics = result.metrics
        print(f"{result.config['label'] or metrics['method']} on {metrics['dataset']} (seed {metrics['seed']}): "
              f"{format_map(metrics)}")
        print(f"run directory: {result.run_dir}")
    return 0


def torchrun(args: argparse.Namespace, extra: list[str]) -> int:
    """``ltbench run --nproc N ...`` = ``torchrun --standalone --nproc-per-node N -m ltbench run ...``, in-process."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    argv = ["run", "--sync-bn", args.sync_bn, *extra, *[f"--log={value}" for value in args.log or []]]
    for option in ("method", "dataset", "config", "seed"):
        if getattr(args, option) is not None:
            argv += [f"--{option}", str(getattr(args, option))]
    try:
        run(get_args_parser().parse_args(["--standalone", f"--nproc-per-node={args.nproc}", "-m", "ltbench", *argv]))
    except ChildFailedError as exc:
        rank, failure = exc.get_first_failure()
        if failure.exitcode == 2:  # an ltbench error, which rank 0 has printed
            return 2
        raise LtbenchError(f"Training process {rank} ended with exit code {failure.exitcode} "
                           f"({failure.signal_name() or 'no signal'}); run the same command again to resume.") from None
    return 0


def cmd_eval(args: argparse.Namespace, extra: list[str]) -> int:
    from ltbench.experiment import format_map
    from ltbench.saved_model import evaluate_run

    if args.scores:
        return cmd_eval_scores(args)
    if not args.run_dir:
        raise LtbenchError("ltbench eval needs a run directory, or --scores FILE --dataset NAME.")
    if args.from_scores:
        return print_recorded_metrics(args.run_dir)
    metrics = evaluate_run(args.run_dir)
    print(f"{args.run_dir}: {format_map({'map': metrics})}")
    return 0


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


def cmd_prepare(args: argparse.Namespace, extra: list[str]) -> int:
    from ltbench.config import parse_overrides
    from ltbench.data.prepare import prepare

    overrides = parse_overrides(split_overrides(extra))
    others = [section for section in overrides if section != "dataset"]
    if others:
        raise LtbenchError(f"ltbench prepare takes dataset options only (--dataset.KEY VALUE), "
                           f"not {', '.join(others)}.")
    params = overrides.get("dataset", {})
    for option in ("root", "splits", "cache_size"):
        if getattr(args, option) is not None:
            params[option] = getattr(args, option)
    report = prepare(args.dataset, **params)
    print(report.summary())
    return 0


def _add_configs_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--configs", action="append", metavar="DIR",
                        help="config folder searched before $LTBENCH_CONFIGS, ./configs and the shipped configs "
                             "(repeatable)")


def build_parser() -> argparse.ArgumentParser:
    from ltbench.download.commands import add_download_parser
    from ltbench.launch.options import add_launch_arguments
    from ltbench.loggers.options import add_log_argument

    parser = argparse.ArgumentParser(prog="ltbench", description="Long-tailed multi-label classification benchmark.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="train and evaluate one method on one dataset",
                         epilog="Other options are config overrides, e.g. --train.epochs 5 --loss.name asl.")
    run.add_argument("--method", help="registered method (see `ltbench list methods`)")
    run.add_argument("--dataset", help="registered dataset (see `ltbench list datasets`)")
    run.add_argument("--config", help="YAML config file or preset name of <dataset>/ in the config folders "
                     "(default: <dataset>/<method>.yaml)")
    _add_configs_option(run)
    run.add_argument("--seed", type=int, help="random seed (default from the config)")
    run.add_argument("--print-config", action="store_true", help="print the resolved config and run id, then exit")
    run.add_argument("--nproc", type=int, default=1,
                     help="train on N processes with DDP (torchrun; one per GPU, or gloo on CPU)")
    run.add_argument("--sync-bn", default="auto", choices=("auto", "on", "off"),
                     help="under torchrun: SyncBatchNorm (auto: on CUDA when BatchNorm layers train)")
    add_log_argument(run)
    run.set_defaults(func=cmd_run)

    evaluate = sub.add_parser("eval", help="re-evaluate a finished run's saved model, or score a submission file")
    evaluate.add_argument("run_dir", nargs="?", help="a run directory holding model.safetensors")
    evaluate.add_argument("--from-scores", action="store_true", help="recompute every metric from scores.npz "
                          "(no model needed) and record them in metrics.json: runs older than docs/metrics.md")
    add_eval_scores_arguments(evaluate)
    _add_configs_option(evaluate)
    evaluate.set_defaults(func=cmd_eval)

    suite = sub.add_parser("suite", help="run a paper table's experiments over seeds, skipping finished ones",
                           epilog="Other options are config overrides applied to every run.")
    suite.add_argument("name", help="suite in suites/ of the config folders (table1, table2, table3, prompts, sota)")
    _add_configs_option(suite)
    suite.add_argument("--dataset", required=True)
    suite.add_argument("--seeds", type=int, default=1, help="number of seeds (default 1)")
    suite.add_argument("--first-seed", type=int, default=1, help="seeds are first-seed, first-seed+1, ...")
    suite.add_argument("--rows", nargs="+", help="only these row labels")
    add_launch_arguments(suite)
    add_log_argument(suite)
    suite.set_defaults(func=cmd_suite)

    table = sub.add_parser("table", help="tables (console, Markdown, CSV, LaTeX) from run directories")
    add_report_filters(table, "tables")
    table.add_argument("--reference", help="published numbers to show beside ours: table1, table2, table3 or none")
    table.add_argument("--oracle", action="store_true",
                       help="add the best per-epoch test mAP as a separate column (test-selected, not a valid result)")
    add_metric_argument(table)
    table.set_defaults(func=cmd_table)

    plot = sub.add_parser("plot", help="per-class AP vs frequency, 95%% intervals, per-class AP heatmap, curves")
    add_report_filters(plot, "plots")
    plot.set_defaults(func=cmd_plot)

    compare = sub.add_parser("compare", help="B − A per group with its 95%% interval and P(B > A): two runs, or two "
                                             "table rows over their seeds (--suite/--runs); plus config and AP diffs")
    compare.add_argument("run_a", metavar="A", help="run directory, or a row label with --suite/--runs (the 'old' side)")
    compare.add_argument("run_b", metavar="B", help="run directory, or a row label with --suite/--runs (the 'new' side)")
    compare.add_argument("--suite", help="A and B are row labels of this suite's table")
    compare.add_argument("--runs", help="A and B are row labels of the runs under this root")
    compare.add_argument("--dataset", help="only this dataset (rows)")
    add_metric_argument(compare)
    compare.set_defaults(func=cmd_compare)

    prep = sub.add_parser("prepare", help="check a local VOC-LT / COCO-LT copy and build its image cache",
                          epilog="Other dataset options as --dataset.KEY VALUE.")
    prep.add_argument("dataset", choices=["voc_lt", "coco_lt"])
    prep.add_argument("--root", help="folder holding VOCdevkit/ (VOC) or annotations/ and the image folders (COCO)")
    prep.add_argument("--splits", help="folder with the split files (default $LTBENCH_SPLITS)")
    prep.add_argument("--cache-size", dest="cache_size", type=int, help="side of the cached images, e.g. 448")
    prep.set_defaults(func=cmd_prepare)

    add_download_parser(sub)

    lst = sub.add_parser("list", help="registered components; with a name, that component's parameters")
    lst.add_argument("kind", nargs="?", choices=[*KINDS, "metrics"])
    lst.add_argument("name", nargs="?", help="a component name (shows its parameters), or a glob, e.g. '*focal*'")
    lst.set_defaults(func=cmd_list)

    add_recipe_parser(sub)
    add_export_parser(sub)
    add_leaderboard_parser(sub)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a batch scheduler's time limit), unwound like Ctrl-C so temp files are removed."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Exit codes: 0 done, 1 a suite with nothing run, 2 a user error, 130 Ctrl-C, 143 SIGTERM."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command not in ("run", "suite", "prepare", "recipe"):
        parser.error(f"unrecognised arguments: {' '.join(extra)}")
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        with explicit_configs(getattr(args, "configs", None)):
            return args.func(args, extra)
    except LtbenchError as exc:
        if os.environ.get("RANK", "0") == "0":  # under torchrun every rank stops with the same error: say it once
            print(f"ltbench: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a disk fault outside ltbench.fs_errors.guard still ends in one sentence
        if not is_fs_fault(exc) or exc.filename is None:
            raise
        print(f"ltbench: error: {describe(exc, exc.filename, 'use')}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print(f"ltbench: {'terminated' if isinstance(exc, Terminated) else 'interrupted'}; run the same command "
              "again to resume from the last checkpoint.", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
