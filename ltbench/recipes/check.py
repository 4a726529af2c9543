"""A recipe card against ltbench's resolved config, setting by setting: equal, different on purpose, or wrong.

Takes a card and a resolved config (``ltbench.resolve_config``) and reads
ltbench's defaults.yaml and the card's own preset file besides. A mismatch
without a reason, and a reason on a setting that is in fact equal, are both
problems (``Verdict.ok`` is False), so a card cannot go stale silently. So is a
code setting found equal whose every value is ltbench's own choice but which
quotes no code line (``quote``): a value of defaults.yaml, or one the preset
inherits without setting it (from the configs it builds on, ``_base_``, or from
a component's signature, the method's own defaults). Such a card may have
written ltbench's choice as the authors', and equal must mean that the authors'
value and ltbench's agree, each stated on its own.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ltbench.config.layering import load_yaml
from ltbench.fileio.atomic import load_yaml_text
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
            return ("every value is ltbench's own (defaults.yaml, or inherited by the preset without setting it: "
                    "a base config or the component's default) and the card quotes no code line showing it is the "
                    "authors' (add quote: the cited line's text)")
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
    """A code setting whose every config value is ltbench's own choice, with no quote of the cited line: each
    either defaults.yaml's value or one the card's preset does not set itself."""
    if card.basis != "code" or not setting.code or setting.quote:
        return False
    defaults, own = ltbench_defaults(), set_by_preset(card)
    return all(same(lookup(defaults, key), want) or not _covered(key, own) for key, want in setting.config.items())


@functools.cache
def ltbench_defaults() -> dict[str, Any]:
    return load_yaml(PACKAGE_DIR / "defaults.yaml")


def set_by_preset(card: Card) -> frozenset[str]:
    """The dotted keys the card's preset writes itself: its own file's (not those of the files it builds on) and,
    for a suite row, the row's overrides."""
    from ltbench.config.resolve import config_file, preset_file

    if card.suite_row:
        from ltbench.launch.suites import load_suite

        row = load_suite(card.suite_row[0]).select([card.suite_row[1]])[0]
        path = row.config_file(card.dataset) or preset_file(card.dataset, row.method)
        extra = row.overrides_for(card.dataset)
    else:
        path = config_file(card.preset, card.dataset) if card.preset else preset_file(card.dataset, card.method)
        extra = {}
    return _own_keys(str(path) if path else None) | frozenset(_dotted(extra))


@functools.cache
def _own_keys(path: str | None) -> frozenset[str]:
    if path is None:
        return frozenset()
    data = load_yaml_text(Path(path).read_text()) or {}
    data.pop("_base_", None)
    return frozenset(_dotted(data))


def _dotted(node: dict[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for key, value in node.items():
        keys += _dotted(value, f"{prefix}{key}.") if isinstance(value, dict) and value else [f"{prefix}{key}"]
    return keys


def _covered(key: str, written: frozenset[str]) -> bool:
    """Whether a preset that writes ``written`` sets ``key``: the key itself, or a component named by a string
    (``train.sampler: class_aware`` sets ``train.sampler.name``)."""
    return key in written or any(key.startswith(k + ".") for k in written)


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
