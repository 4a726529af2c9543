"""Tables and figures from run directories: results are data, tables and plots are views.

Names are imported on first use, so that ``ltbench table`` never loads matplotlib
and ``ltbench --help`` loads none of these modules.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ltbench.reports.collect": ("Collection", "collect_runs", "find_manifests"),
    "ltbench.reports.plots": ("plot_ap_vs_frequency", "plot_curves"),
    "ltbench.reports.plots_intervals": ("plot_class_heatmap", "plot_intervals"),
    "ltbench.reports.reference": ("ROW_LABELS", "Reference", "default_label", "load_reference"),
    "ltbench.reports.render": ("render_csv", "render_latex", "render_markdown", "render_rich", "write_tables"),
    "ltbench.reports.table": ("build_table",),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'ltbench.reports' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)


def __dir__() -> list[str]:
    return __all__
