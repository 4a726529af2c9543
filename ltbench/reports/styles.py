"""One look per table row (colour x marker), fixed by its position, never repeated within a figure.

Colours are the ten of Tableau's colour-blind-aware ``tab10``; the marker
changes every ten rows and the colour order shifts with it, so neighbouring rows
differ in colour and any two rows differ in colour or marker (up to 10 x
len(MARKERS) rows). Smoke rows (random weights) are drawn hollow and dashed.
"""

from __future__ import annotations

from typing import Any

from matplotlib import colormaps

COLOURS = tuple(colormaps["tab10"].colors)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def style(index: int, smoke: bool = False) -> dict[str, Any]:
    """Matplotlib keywords (``color``, ``marker``, ``linestyle``, ``markerfacecolor``) of row ``index``."""
    cycle, position = divmod(index, len(COLOURS))
    if cycle >= len(MARKERS):
        raise ValueError(f"At most {len(COLOURS) * len(MARKERS)} rows get distinct styles, not {index + 1}.")
    colour = COLOURS[(position + 3 * cycle) % len(COLOURS)]
    return {"color": colour, "marker": MARKERS[cycle], "linestyle": "--" if smoke else "-",
            "markerfacecolor": "none" if smoke else colour}
