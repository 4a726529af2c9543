"""Recipe cards as site pages: each setting's paper text, official code and ltbench value, with its verdict.

The verdicts are ``ltbench recipe``'s (``recipe_check.compare`` against the
config ``card_config`` resolves), so a page says what the console says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ltbench.leaderboard import checkpoints
from ltbench.leaderboard.cache import cached_json
from ltbench.recipes.cards import Card
from ltbench.recipes.check import Verdict, compare, show_value
from ltbench.recipes.render import card_config, published_lines


@dataclass(frozen=True)
class CardPage:
    card: Card
    verdicts: list[Verdict]
    published: list[str]
    checkpoint: str
    command: str  # how to print the card in a terminal

    @property
    def path(self) -> str:
        """The page, relative to the site root."""
        return card_path(self.card)


def card_path(card: Card) -> str:
    return f"cards/{card.dataset}/{card.path.stem.replace('@', '--')}.html"


def card_page(card: Card, keep: Callable[..., Any] = cached_json) -> CardPage:
    """The card beside the config its preset resolves to (kept between builds: ``cache.cached_json``, or
    a parallel build's ``keep``)."""
    preset = f" --config {card.preset}" if card.preset else ""
    config = keep("card-configs", card.name, lambda: card_config(card))
    return CardPage(card, compare(card, config), published_lines(card), checkpoints.of_card(card),
                    f"ltbench recipe {card.method} {card.dataset}{preset}")


def ltbench_values(verdict: Verdict) -> str:
    """The resolved config's values of the setting's keys, and how ltbench does a non-config setting."""
    values = "; ".join(f"{key} = {show_value(value)}" for key, value in verdict.resolved.items())
    return "; ".join(part for part in (values, verdict.setting.ltbench) if part)
