"""The ``ltbench`` command line.

Options that are not listed below are dotted config overrides, e.g.
``--train.epochs 5`` or ``train.epochs=5``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from ltbench.errors import LtbenchError

Command = Callable[[argparse.Namespace, list[str]], int]


def split_overrides(extra: Sequence[str]) -> list[str]:
    """``["--train.epochs", "5", "loss.name=asl"]`` -> ``["train.epochs=5", "loss.name=asl"]``."""
    overrides, items = [], list(extra)
    while items:
        item = items.pop(0)
        if item.startswith("--"):
            key, sep, value = item[2:].partition("=")
            if not sep:
                if not items or items[0].startswith("--"):
                    raise LtbenchError(f"Option --{key} needs a value (for example --{key} 5).")
                value = items.pop(0)
            overrides.append(f"{key}={value}")
        elif "=" in item:
            overrides.append(item)
        else:
            raise LtbenchError(f"Unexpected argument {item!r}; config overrides look like --train.epochs 5.")
    return overrides


def cmd_run(args: argparse.Namespace, extra: list[str]) -> int:
    from ltbench.experiment import build_experiment, compose_config, format_map, run_experiment

    overrides = split_overrides(extra)
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    config = compose_config(args.method, args.dataset, args.config, overrides)
    experiment = build_experiment(config)
    metrics = run_experiment(experiment)
    print(f"{experiment.config['label']} on {metrics['dataset']} (seed {metrics['seed']}): {format_map(metrics)}")
    print(f"run directory: {experiment.run_dir}")
    return 0


def cmd_list(args: argparse.Namespace, extra: list[str]) -> int:
    from rich.console import Console
    from rich.table import Table

    from ltbench.plugins import load_plugins
    from ltbench.registry import BACKBONES, DATASETS, LOSSES, METHODS, TEXT_ENCODERS

    load_plugins()
    registries = {"methods": METHODS, "datasets": DATASETS, "backbones": BACKBONES,
                  "text-encoders": TEXT_ENCODERS, "losses": LOSSES}
    kinds = [args.kind] if args.kind else list(registries)
    console = Console()
    for kind in kinds:
        table = Table(title=kind, show_header=True, title_justify="left")
        table.add_column("name", style="bold")
        table.add_column("description")
        for name in registries[kind].list(args.pattern):
            table.add_row(name, registries[kind].entry(name).help)
        console.print(table)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ltbench", description="Long-tailed multi-label classification benchmark.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="train and evaluate one method on one dataset",
                         epilog="Other options are config overrides, e.g. --train.epochs 5 --loss.name asl.")
    run.add_argument("--method", help="registered method (see `ltbench list methods`)")
    run.add_argument("--dataset", help="registered dataset (see `ltbench list datasets`)")
    run.add_argument("--config", help="YAML config file (default: configs/<dataset>/<method>.yaml)")
    run.add_argument("--seed", type=int, help="random seed (default from the config)")
    run.set_defaults(func=cmd_run)

    lst = sub.add_parser("list", help="show registered methods, datasets, backbones, text encoders, losses")
    lst.add_argument("kind", nargs="?", choices=["methods", "datasets", "backbones", "text-encoders", "losses"])
    lst.add_argument("pattern", nargs="?", default="*", help="glob filter, e.g. '*focal*'")
    lst.set_defaults(func=cmd_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "run":
        parser.error(f"unrecognised arguments: {' '.join(extra)}")
    try:
        return args.func(args, extra)
    except LtbenchError as exc:
        print(f"ltbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ltbench: interrupted; run the same command again to resume from the last checkpoint.",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
