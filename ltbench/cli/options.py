"""Options several subcommands share: config overrides as the command line takes them, and ``--configs``."""

from __future__ import annotations

import argparse
from typing import Sequence

from ltbench.errors import LtbenchError


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


def add_configs_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--configs", action="append", metavar="DIR",
                        help="config folder searched before $LTBENCH_CONFIGS, ./configs and the shipped configs "
                             "(repeatable)")
