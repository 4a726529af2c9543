"""``ltbench eval RUN_DIR`` re-evaluates a finished run's saved model (``--from-scores``: its scores.npz);
``ltbench eval --scores FILE`` scores a submission file."""

from __future__ import annotations

import argparse

from ltbench.cli.options import add_configs_option
from ltbench.errors import LtbenchError


def cmd_eval(args: argparse.Namespace, extra: list[str]) -> int:
    from ltbench.experiment import format_map
    from ltbench.metrics.commands import print_recorded_metrics
    from ltbench.runs.reload import evaluate_run
    from ltbench.submissions.commands import cmd_eval_scores

    if args.scores:
        return cmd_eval_scores(args)
    if not args.run_dir:
        raise LtbenchError("ltbench eval needs a run directory, or --scores FILE --dataset NAME.")
    if args.from_scores:
        return print_recorded_metrics(args.run_dir)
    metrics = evaluate_run(args.run_dir)
    print(f"{args.run_dir}: {format_map({'map': metrics})}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ltbench.submissions.commands import add_eval_scores_arguments

    evaluate = sub.add_parser("eval", help="re-evaluate a finished run's saved model, or score a submission file")
    evaluate.add_argument("run_dir", nargs="?", help="a run directory holding model.safetensors")
    evaluate.add_argument("--from-scores", action="store_true", help="recompute every metric from scores.npz "
                          "(no model needed) and record them in metrics.json: runs older than docs/metrics.md")
    add_eval_scores_arguments(evaluate)
    add_configs_option(evaluate)
    evaluate.set_defaults(func=cmd_eval)
