"""How a number's model was chosen: the last epoch, on a validation split, or on the test set itself.

ltbench runs record it (``metrics.json`` ``selection``: always the final model);
submissions declare it in their metadata; a published row's recipe card says
what the authors' code does in its ``checkpoint`` setting, read here.
"""

from __future__ import annotations

import re

from ltbench.recipes.cards import Card

LAST, VALIDATION, TEST, NOT_TRAINED, UNKNOWN = "last", "validation", "selected on test", "not trained", "not stated"
SELECTIONS = {"final": LAST, "final-ema": f"{LAST} (EMA)"}  # an ltbench run's ``selection``
DECLARED = {"last": LAST, "validation": VALIDATION, "test": TEST}  # a submission's ``checkpoint``


def of_run(selection: str | None) -> str:
    return SELECTIONS.get(selection or "final", str(selection))


def of_card(card: Card) -> str:
    """What the card's ``checkpoint`` setting says the authors' code chose (the code, else the paper)."""
    setting = next((s for s in card.settings if s.name == "checkpoint"), None)
    text = (setting.code or setting.paper or "") if setting else ""
    return of_text(text)


def of_text(text: str) -> str:
    """``best TEST mAP`` -> selected on test; ``the final model`` -> last; ``no training`` -> not trained.

    Cards say it in words; ``tests/test_leaderboard.py`` keeps every shipped card classified.
    """
    lower = text.lower()
    if re.search(r"\btest\b", lower) and re.search(r"\bbest\b|\bselect|\bchosen\b|\bimproves?\b", lower):
        return TEST
    if re.search(r"\bval(idation)?\b", lower):
        return VALIDATION
    if "no training" in lower or "not trained" in lower:
        return NOT_TRAINED
    if re.search(r"\b(final|last)\b", lower):
        return LAST
    return UNKNOWN
