"""The ``ltbench`` command line: one module per subcommand (``ltbench/cli/<name>.py``), its parser beside its handler.

Options that are not listed below are dotted config overrides, e.g.
``--train.epochs 5`` or ``train.epochs=5``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Sequence

from ltbench.errors import LtbenchError
from ltbench.fileio.faults import describe, is_fs_fault
from ltbench.paths import explicit_configs

TAKES_OVERRIDES = ("run", "suite", "prepare", "recipe")  # subcommands whose unknown options are config overrides


def build_parser() -> argparse.ArgumentParser:
    """Each subcommand's module adds its parser; they import torch only in their handlers (``--help`` stays fast)."""
    from ltbench.cli import compare, download, evaluate, listing, plot, prepare, recipe, run, suite, table
    from ltbench.leaderboard.command import add_leaderboard_parser
    from ltbench.submissions.commands import add_export_parser

    parser = argparse.ArgumentParser(prog="ltbench", description="Long-tailed multi-label classification benchmark.")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (run, evaluate, suite, table, plot, compare, prepare, download, listing, recipe):  # --help's order
        command.add_parser(sub)
    add_export_parser(sub)  # the submission format's and the leaderboard's commands live with their packages
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
    if extra and args.command not in TAKES_OVERRIDES:
        parser.error(f"unrecognised arguments: {' '.join(extra)}")
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        with explicit_configs(getattr(args, "configs", None)):
            return args.func(args, extra)
    except LtbenchError as exc:
        if os.environ.get("RANK", "0") == "0":  # under torchrun every rank stops with the same error: say it once
            print(f"ltbench: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a disk fault outside ltbench.fileio.faults.guard still ends in one sentence
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
