"""``ltbench eval RUN_DIR``: re-evaluate a finished run's saved model on its test split."""

from __future__ import annotations

import argparse

from ltbench.cli.options import add_configs_option


def cmd_eval(args: argparse.Namespace, extra: list[str]) -> int:
    from ltbench.experiment import format_map
    from ltbench.runs.reload import evaluate_run

    metrics = evaluate_run(args.run_dir)
    print(f"{args.run_dir}: {format_map({'map': metrics})}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    evaluate = sub.add_parser("eval", help="re-evaluate a finished run's saved model on its test split")
    evaluate.add_argument("run_dir", help="a run directory holding model.safetensors")
    add_configs_option(evaluate)
    evaluate.set_defaults(func=cmd_eval)
