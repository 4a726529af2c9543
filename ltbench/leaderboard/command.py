"""``ltbench leaderboard --out DIR``: the static site of a results root (docs/leaderboard.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_leaderboard(args: argparse.Namespace, extra: list[str]) -> int:
    from ltbench.leaderboard.boards import build_boards
    from ltbench.leaderboard.parallel import BuildPlan
    from ltbench.leaderboard.site import write_site
    from ltbench.paths import results_root
    from ltbench.recipes.cards import load_cards

    root = Path(args.results) if args.results else results_root()
    cards = load_cards()
    plan = BuildPlan(root, cards)  # resolving starts in a worker process; LTBENCH_SERIAL=1: none
    boards = build_boards(root, cards, plan.keep, plan.built)
    for problem in dict.fromkeys(p for board in boards for p in board.problems):
        print(f"warning: {problem}", file=sys.stderr)
    pages = write_site(boards, cards, args.out, plan)
    rows = sum(len(board.rows) for board in boards)
    print(f"wrote {len(pages)} pages ({len(boards)} boards, {rows} rows) to {args.out}; open {Path(args.out) / 'index.html'}")
    return 0


def add_leaderboard_parser(sub: argparse._SubParsersAction) -> None:
    board = sub.add_parser("leaderboard", help="a static website of every run, submission and published row")
    board.add_argument("--out", required=True, help="folder to write the site to (replaced if it holds an earlier one)")
    board.add_argument("--results", help="results root holding runs/, suites/ and submissions/ "
                                         "(default $LTBENCH_RESULTS, else results)")
    board.set_defaults(func=cmd_leaderboard)
