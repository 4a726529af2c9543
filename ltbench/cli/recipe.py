"""``ltbench recipe METHOD DATASET [--config PRESET]``: a published row's recipe card beside ltbench's resolved config."""

from __future__ import annotations

import argparse

from ltbench.cli.options import split_overrides


def cmd_recipe(args: argparse.Namespace, extra: list[str]) -> int:
    from ltbench.recipes.cards import find_card
    from ltbench.recipes.check import MISMATCH, compare
    from ltbench.recipes.render import card_config, render_card

    preset = None if args.config in (None, args.method) else args.config
    card = find_card(args.method, args.dataset, preset)
    config = card_config(card, split_overrides(extra))
    print(render_card(card, config), end="")
    return 1 if any(v.status == MISMATCH for v in compare(card, config)) else 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    recipe = sub.add_parser("recipe", help="a published row's recipe card beside ltbench's resolved config",
                            epilog="Other options are config overrides, compared as the run would resolve them. "
                                   "Exit code 1 when a setting differs without a reason.")
    recipe.add_argument("method", help="registered method, or a published-only method with a card (oltr)")
    recipe.add_argument("dataset", help="voc_lt or coco_lt")
    recipe.add_argument("--config", help="preset name whose card to show (default: the method's own preset)")
    recipe.set_defaults(func=cmd_recipe)
