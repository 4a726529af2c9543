"""A recipe card against ltbench's resolved config, setting by setting: equal, different on purpose, or wrong.

Takes a card and a resolved config (``ltbench.resolve_config``) and reads only
ltbench's defaults.yaml besides. A mismatch without a reason, and a reason on a
setting that is in fact equal, are both problems (``Verdict.ok`` is False), so a
card cannot go stale silently. So is a code setting found equal whose every
value is also ltbench's own default but which quotes no code line (``quote``):
such a card may have written ltbench's choice as the authors', and equal must
mean that the authors' value and ltbench's agree, each stated on its own.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

from ltbench.config.layering import load_yaml
from ltbench.paths import PACKAGE_DIR
from ltbench.recipes.cards import Card, Setting

MISSING = object()  # a key the resolved config does not have (a section the method does not use)

EQUAL, DIFFERS, NOT_CONFIG, MISMATCH, STALE, PUBLISHED_ONLY, UNQUOTED = (
    "equal", "different on purpose", "not a config setting", "MISMATCH", "STALE REASON", "published only",
    "UNQUOTED DEFAULT")


@dataclass(frozen=True)
class Verdict:
    """One setting compared: ltbench's resolved values of its keys and the verdict."""

    setting: Setting
    resolved: dict[str, Any]  # dotted key -> ltbench's value (MISSING when absent)
    status: str

    @property
    def ok(self) -> bool:
        return self.status not in (MISMATCH, STALE, UNQUOTED)

    @property
    def explanation(self) -> str:
        if self.status == MISMATCH:
            wrong = [key for key, want in self.setting.config.items() if not same(self.resolved[key], want)]
            return f"ltbench differs at {', '.join(wrong)} and the card gives no reason"
        if self.status == UNQUOTED:
            return ("every value is ltbench's default (defaults.yaml) and the card quotes no code line showing it "
                    "is the authors' (add quote: the cited line's text)")
        if self.status == STALE:
            return f"the card says ltbench differs ({self.setting.differs}), but every key is equal"
        return self.setting.differs or ""


def lookup(config: dict[str, Any], dotted: str) -> Any:
    """``config``'s value at ``a.b.c``, or ``MISSING``."""
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def same(actual: Any, wanted: Any) -> bool:
    """Equal as config values: numbers to 1e-9 relative, sequences element by element, the rest by ``==``."""
    if actual is MISSING:
        return False
    if isinstance(wanted, bool) or isinstance(actual, bool):
        return actual is wanted
    if isinstance(wanted, (int, float)) and isinstance(actual, (int, float)):
        return math.isclose(actual, wanted, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(wanted, (list, tuple)) and isinstance(actual, (list, tuple)):
        return len(actual) == len(wanted) and all(same(a, w) for a, w in zip(actual, wanted))
    return actual == wanted


def compare(card: Card, config: dict[str, Any] | None) -> list[Verdict]:
    """Every setting of ``card`` against ``config`` (None for a method ltbench does not implement)."""
    verdicts = []
    for setting in card.settings:
        if config is None:
            verdicts.append(Verdict(setting, {}, PUBLISHED_ONLY))
            continue
        resolved = {key: lookup(config, key) for key in setting.config}
        if not setting.config:
            status = DIFFERS if setting.differs else NOT_CONFIG
        elif all(same(resolved[key], want) for key, want in setting.config.items()):
            status = STALE if setting.differs else UNQUOTED if _unquoted_default(card, setting) else EQUAL
        else:
            status = DIFFERS if setting.differs else MISMATCH
        verdicts.append(Verdict(setting, resolved, status))
    return verdicts


def _unquoted_default(card: Card, setting: Setting) -> bool:
    """A code setting whose every config value is ltbench's default, with no quote of the cited line."""
    if card.basis != "code" or not setting.code or setting.quote:
        return False
    defaults = ltbench_defaults()
    return all(same(lookup(defaults, key), want) for key, want in setting.config.items())


@functools.cache
def ltbench_defaults() -> dict[str, Any]:
    return load_yaml(PACKAGE_DIR / "defaults.yaml")


def show_value(value: Any) -> str:
    """A config value as the YAML-ish text users type (``null``, ``true``, ``[5, 7]``)."""
    if value is MISSING:
        return "(not in the config)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    return str(value)
