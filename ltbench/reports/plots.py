"""Figures of collected runs, one subplot column per dataset, each saved as PNG and PDF.

Uses matplotlib's object API (``Figure``, rendered by Agg) rather than pyplot,
so plotting never touches global backend state or needs a display. A row keeps
its look (``styles.style``) across all figures; legends sit outside the axes,
axes are fitted to the data, and smoke rows are hollow, dashed and daggered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullLocator

from ltbench.data.groups import HEAD_MIN, TAIL_MAX
from ltbench.errors import LtbenchError
from ltbench.fileio.atomic import atomic_write
from ltbench.reports.collect import Collection
from ltbench.reports.styles import style
from ltbench.reports.table import DATASET_TITLES
from ltbench.runs.random_weights import DAGGER

GROUP_SHADES = (("tail", "#d62728"), ("medium", "#ff7f0e"), ("head", "#2ca02c"))
FORMATS = ("png", "pdf")
UNDATED = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}  # no time of drawing: same figure, same bytes
SPREAD = 0.12  # log10 width over which the rows' points at one class frequency are spread, so they stay apart


def row_style(collection: Collection, dataset: str, label: str) -> dict:
    return style(collection.labels.index(label), collection.smoke(dataset, label))


def row_name(collection: Collection, dataset: str, label: str) -> str:
    return label + (f" {DAGGER}" if collection.smoke(dataset, label) else "")


def figure(collection: Collection, nrows: int = 1, ncols: int | None = None,
           size: tuple[float, float] = (5.5, 4.0)) -> tuple[Figure, np.ndarray]:
    """A figure with ``nrows x (ncols or one per dataset)`` axes, titled per dataset when columns are datasets."""
    if not collection.datasets:
        raise LtbenchError("No finished runs to plot.")
    columns = ncols or len(collection.datasets)
    fig = Figure(figsize=(size[0] * columns, size[1] * nrows), layout="constrained")
    axes = np.asarray(fig.subplots(nrows, columns, squeeze=False))
    if ncols is None:
        for ax, dataset in zip(axes[0], collection.datasets):
            ax.set_title(DATASET_TITLES.get(dataset, dataset))
    return fig, axes


def legend_outside(fig: Figure, ax: Axes) -> None:
    """One legend for the figure, right of the axes, never over the data."""
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    if unique:
        fig.legend(unique.values(), unique.keys(), loc="outside right upper", fontsize="small", frameon=False)


def save(fig: Figure, stem: str | Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write ``<stem>.png`` and ``<stem>.pdf`` (or ``formats``, e.g. ``("svg",)``) atomically; return their paths."""
    paths = []
    for fmt in formats:
        path = Path(f"{stem}.{fmt}")
        atomic_write(path, lambda handle: fig.savefig(handle, format=fmt, dpi=150, metadata=UNDATED.get(fmt)))
        paths.append(path)
    return paths


def class_ap(runs: list) -> np.ndarray:
    """seeds x classes AP; NaN for a class without test positives (None in metrics.json)."""
    return np.array([run.metrics["per_class_ap"] for run in runs], dtype=float)


def plot_ap_vs_frequency(collection: Collection, stem: str | Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Per-class AP (mean over seeds, bar = min..max over seeds) against training images per class."""
    fig, axes = figure(collection, size=(7.0, 4.5))
    for ax, dataset in zip(axes[0], collection.datasets):
        present = [label for label in collection.labels if collection.runs(dataset, label)]
        freq = np.array([])
        for i, label in enumerate(present):
            runs = collection.runs(dataset, label)
            freq = np.asarray(runs[0].metrics["class_freq"], dtype=float)
            ap = class_ap(runs)
            with np.errstate(all="ignore"):
                mean, low, high = np.nanmean(ap, 0), np.nanmin(ap, 0), np.nanmax(ap, 0)
            x = freq * 10 ** (SPREAD * ((i + 0.5) / len(present) - 0.5))
            look = row_style(collection, dataset, label)
            ax.errorbar(x, mean, yerr=[mean - low, high - mean], fmt="none", ecolor=look["color"], alpha=0.5, lw=1)
            ax.plot(x, mean, linestyle="none", marker=look["marker"], color=look["color"],
                    markerfacecolor=look["markerfacecolor"], markersize=5, label=row_name(collection, dataset, label))
        ax.set_xscale("log")  # before shading: the group names' top axis follows the scale it finds
        shade_groups(ax, freq)
        ax.set_xlabel("training images per class (log)")
        ax.set_ylabel("AP (%), mean over seeds; bar: min-max")
    legend_outside(fig, axes[0, 0])
    return save(fig, stem, formats)


def shade_groups(ax: Axes, freq: np.ndarray) -> None:
    """Shade tail (< TAIL_MAX), medium and head (>= HEAD_MIN) frequency ranges, named on a top axis; x fitted."""
    positive = freq[freq > 0]
    low, high = positive.min() / 1.6, positive.max() * 1.6
    bounds = {"tail": (low, TAIL_MAX), "medium": (TAIL_MAX, HEAD_MIN), "head": (HEAD_MIN, high)}
    centres, names, colours = [], [], []
    for group, colour in GROUP_SHADES:
        start, end = max(bounds[group][0], low), min(bounds[group][1], high)
        if start < end:
            ax.axvspan(start, end, color=colour, alpha=0.08, zorder=0)
            centres.append((start * end) ** 0.5)
            names.append(group)
            colours.append(colour)
    ax.set_xlim(low, high)
    top = ax.secondary_xaxis("top")
    top.set_xticks(centres, names, minor=False)
    top.xaxis.set_minor_locator(NullLocator())
    top.tick_params(length=0)
    for label, colour in zip(top.get_xticklabels(), colours):
        label.set_color(colour)


def plot_curves(collection: Collection, stem: str | Path) -> list[Path]:
    """Training loss (top) and test mAP (bottom) per epoch, one line per run, styled by row."""
    fig, axes = figure(collection, nrows=2, size=(6.5, 4.0))
    for column, dataset in enumerate(collection.datasets):
        for label in collection.labels:
            for i, run in enumerate(collection.runs(dataset, label)):
                for ax, key in zip(axes[:, column], ("train_loss", "test_map")):
                    points = [(row["epoch"], row[key]) for row in run.history if row.get(key) is not None]
                    if points:
                        epochs, values = zip(*points)
                        ax.plot(epochs, values, label=row_name(collection, dataset, label) if i == 0 else None,
                                markersize=3, markevery=max(1, len(epochs) // 6), lw=1,
                                **row_style(collection, dataset, label))
        axes[0, column].set_ylabel("training loss")
        axes[1, column].set_ylabel("test mAP (%)")
        axes[1, column].set_xlabel("epoch")
        for ax in axes[:, column]:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    legend_outside(fig, axes[0, 0])
    return save(fig, stem)
