"""Tables and figures from run directories: results are data, tables and plots are views."""

from ltbench.reports.collect import Collection, collect_runs, find_manifests
from ltbench.reports.plots import plot_ap_vs_frequency, plot_curves
from ltbench.reports.plots_intervals import plot_class_heatmap, plot_intervals
from ltbench.reports.reference import ROW_LABELS, Reference, default_label, load_reference
from ltbench.reports.render import render_csv, render_latex, render_markdown, render_rich, write_tables
from ltbench.reports.table import build_table

__all__ = [
    "ROW_LABELS",
    "Collection",
    "Reference",
    "build_table",
    "collect_runs",
    "default_label",
    "find_manifests",
    "load_reference",
    "plot_ap_vs_frequency",
    "plot_class_heatmap",
    "plot_curves",
    "plot_intervals",
    "render_csv",
    "render_latex",
    "render_markdown",
    "render_rich",
    "write_tables",
]
