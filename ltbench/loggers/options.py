"""The command line's ``--log NAME`` (``ltbench run`` and ``ltbench suite``): ``output.log`` as an override."""

from __future__ import annotations

import argparse

from ltbench.loggers import check_loggers


def add_log_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log", action="append", metavar="LOGGER",
                        help="experiment tracker fed while training: tensorboard, wandb or a plugin's "
                             "(repeatable or comma-separated; see `ltbench list loggers`); not part of the run id")


def log_names(args: argparse.Namespace) -> list[str]:
    """``--log tensorboard --log wandb`` or ``--log tensorboard,wandb`` -> ``["tensorboard", "wandb"]``."""
    names = [name.strip() for value in getattr(args, "log", None) or [] for name in value.split(",")]
    return list(dict.fromkeys(name for name in names if name))


def log_overrides(args: argparse.Namespace) -> list[str]:
    """The ``output.log`` override for ``--log``, after checking each logger exists and can be imported."""
    names = log_names(args)
    if not names:
        return []
    check_loggers(names)
    return [f"output.log=[{','.join(names)}]"]
