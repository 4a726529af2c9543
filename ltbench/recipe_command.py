"""``ltbench recipe METHOD DATASET [--config PRESET]``: a published row's recipe card beside ltbench's resolved config."""

from __future__ import annotations

import argparse
import textwrap
from collections import Counter
from typing import Any, Sequence

from ltbench.errors import LtbenchError
from ltbench.recipe_cards import Card, find_card
from ltbench.recipe_check import EQUAL, MISMATCH, Verdict, compare, show_value

WIDTH = 110
LABEL = 14  # width of the left column


def card_config(card: Card, overrides: Sequence[str] = ()) -> dict[str, Any] | None:
    """The resolved config the card is checked against (None for a method ltbench does not implement)."""
    from ltbench.resolve import resolve_config

    if not card.implemented:
        return None
    if card.suite_row:
        from ltbench.launch.tasks import SuiteTask, task_config

        suite, label = card.suite_row
        config = task_config(SuiteTask(suite, card.dataset, label, 1, tuple(overrides)))
        if config["method"]["name"] != card.method:
            raise LtbenchError(f"Recipe card {card.path} is for {card.method}, but suite {suite}'s row {label!r} "
                               f"trains {config['method']['name']}.")
        return config
    return resolve_config(card.method, card.dataset, card.preset, overrides)


def published_lines(card: Card) -> list[str]:
    """The card's published rows with their numbers from the reference CSVs."""
    from ltbench.reports.reference import METRICS, load_reference

    lines = []
    for table, label in card.rows:
        row = load_reference(table).lookup(label, card.dataset)
        numbers = " / ".join(f"{row.values[m]:.2f}" for m in METRICS) if row else "not in the reference CSV"
        lines.append(f"{table} {label!r}: {numbers} ({'/'.join(METRICS)})")
    if card.unpublished:
        lines.append(f"no numbers quoted: {card.unpublished}")
    return lines


def _field(label: str, text: str, source: str | None = None) -> list[str]:
    body = text + (f"  [{source}]" if source else "")
    return textwrap.wrap(body, WIDTH, initial_indent=f"  {label:<{LABEL - 2}}",
                         subsequent_indent=" " * LABEL) or [f"  {label}"]


def verdict_lines(verdict: Verdict) -> list[str]:
    """One setting: paper, code, ltbench's values and the verdict."""
    setting = verdict.setting
    lines = [f"{setting.name} [{verdict.status}]"]
    if setting.paper:
        lines += _field("paper", setting.paper, setting.paper_source)
    if setting.code:
        lines += _field("code", setting.code, setting.code_source)
    values = [f"{key} = {show_value(value)}" + ("" if verdict.status == EQUAL else
              f" (recipe: {show_value(setting.config[key])})") for key, value in verdict.resolved.items()]
    if values or setting.ltbench:
        lines += _field("ltbench", "; ".join([*values, *([setting.ltbench] if setting.ltbench else [])]))
    if verdict.explanation:
        lines += _field("why", verdict.explanation)
    return lines


def render_card(card: Card, config: dict[str, Any] | None) -> str:
    """The whole comparison as text."""
    verdicts = compare(card, config)
    lines = [f"Recipe card {card.name} ({card.path.name} in ltbench/recipes/{card.dataset})"]
    lines += [f"  published   {line}" for line in published_lines(card)]
    if card.repository:
        lines += _field("code", card.repository)
    if card.no_source:
        lines += _field("no source", card.no_source)
    if card.note:
        lines += _field("note", card.note)
    if config is None:
        lines += _field("ltbench", f"{card.method} is not implemented in ltbench; the card records the recipe only")
    elif card.suite_row:
        suite, label = card.suite_row
        lines += _field("ltbench", f"the {suite} suite's row {label!r}: ltbench suite {suite} --dataset "
                        f"{card.dataset} --rows {label!r}")
    else:
        preset = f" --config {card.preset}" if card.preset else ""
        lines += _field("ltbench", f"ltbench run --method {card.method} --dataset {card.dataset}{preset}"
                        " --print-config")
    for verdict in verdicts:
        lines += ["", *verdict_lines(verdict)]
    counts = Counter(v.status for v in verdicts)
    lines += ["", f"{len(verdicts)} settings: " + ", ".join(f"{n} {status}" for status, n in counts.items())]
    return "\n".join(lines) + "\n"


def cmd_recipe(args: argparse.Namespace, extra: list[str]) -> int:
    from ltbench.cli_overrides import split_overrides

    preset = None if args.config in (None, args.method) else args.config
    card = find_card(args.method, args.dataset, preset)
    config = card_config(card, split_overrides(extra))
    print(render_card(card, config), end="")
    return 1 if any(v.status == MISMATCH for v in compare(card, config)) else 0


def add_recipe_parser(sub: argparse._SubParsersAction) -> None:
    recipe = sub.add_parser("recipe", help="a published row's recipe card beside ltbench's resolved config",
                            epilog="Other options are config overrides, compared as the run would resolve them. "
                                   "Exit code 1 when a setting differs without a reason.")
    recipe.add_argument("method", help="registered method, or a published-only method with a card (oltr)")
    recipe.add_argument("dataset", help="voc_lt or coco_lt")
    recipe.add_argument("--config", help="preset name whose card to show (default: the method's own preset)")
    recipe.set_defaults(func=cmd_recipe)
