"""Every metric ltbench reports, by name (``catalog``); docs/metrics.md defines each with its source.

Names are imported on first use, so that ``ltbench --help`` loads no numpy.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ltbench.metrics.catalog": ("DEFAULT", "METRICS", "Metric", "evaluate_metrics", "get_metric", "metric_values"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'ltbench.metrics' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)


def __dir__() -> list[str]:
    return __all__
