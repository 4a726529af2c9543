"""The one exception type whose message is shown to users as-is, without a traceback."""

from __future__ import annotations

from typing import Sequence


class LtbenchError(Exception):
    """A user-facing problem (missing file, unknown name, bad option) explained in one sentence."""


def check_choice(key: str, value: object, choices: Sequence[str]) -> None:
    """Refuse a setting outside ``choices`` with one sentence that lists them."""
    if value not in choices:
        raise LtbenchError(f"{key} must be one of {', '.join(choices)}, not {value!r}.")
