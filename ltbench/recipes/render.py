"""A recipe card beside ltbench's resolved config, as text (``ltbench recipe``) and table cells (``recipes.docs``)."""

from __future__ import annotations

import textwrap
from collections import Counter
from typing import Any, Sequence

from ltbench.errors import LtbenchError
from ltbench.recipes.cards import Card
from ltbench.recipes.check import EQUAL, Verdict, compare, show_value

WIDTH = 110
LABEL = 14  # width of the left column


def card_config(card: Card, overrides: Sequence[str] = ()) -> dict[str, Any] | None:
    """The resolved config the card is checked against (None for a method ltbench does not implement)."""
    from ltbench.config.resolve import resolve_config

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
