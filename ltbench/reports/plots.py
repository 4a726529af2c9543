"""Figures of collected runs, one subplot per dataset, each saved as PNG and PDF.

Uses matplotlib's object API (``Figure``, rendered by Agg) rather than pyplot,
so plotting never touches global backend state or needs a display. A label
keeps its colour and marker across all figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ltbench.data.groups import HEAD_MIN, TAIL_MAX
from ltbench.errors import LtbenchError
from ltbench.reports.collect import Collection
from ltbench.reports.reference import METRICS
from ltbench.reports.table import DATASET_TITLES, summarize
from ltbench.fileio import atomic_write

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
GROUP_SHADES = (("tail", "#d62728"), ("medium", "#ff7f0e"), ("head", "#2ca02c"))
FORMATS = ("png", "pdf")


def _style(collection: Collection, label: str) -> dict[str, Any]:
    """The colour and marker of ``label``, fixed by its position in the table's row order."""
    i = collection.labels.index(label)
    return {"color": f"C{i % 10}", "marker": MARKERS[i % len(MARKERS)]}


def _figure(collection: Collection, nrows: int = 1) -> tuple[Figure, np.ndarray]:
    """A figure with one column of axes per dataset; axes as an ``nrows x datasets`` array."""
    if not collection.datasets:
        raise LtbenchError("No finished runs to plot.")
    ncols = len(collection.datasets)
    fig = Figure(figsize=(5.5 * ncols, 4.0 * nrows), layout="constrained")
    axes = np.asarray(fig.subplots(nrows, ncols, squeeze=False))
    for ax, dataset in zip(axes[0], collection.datasets):
        ax.set_title(DATASET_TITLES.get(dataset, dataset))
    return fig, axes


def _save(fig: Figure, stem: str | Path) -> list[Path]:
    """Write ``<stem>.png`` and ``<stem>.pdf`` atomically; return their paths."""
    paths = []
    for fmt in FORMATS:
        path = Path(f"{stem}.{fmt}")
        atomic_write(path, lambda handle: fig.savefig(handle, format=fmt, dpi=150))
        paths.append(path)
    return paths


def plot_ap_vs_frequency(collection: Collection, stem: str | Path) -> list[Path]:
    """Per-class AP (mean over seeds) against training images per class, groups shaded."""
    fig, axes = _figure(collection)
    for ax, dataset in zip(axes[0], collection.datasets):
        freq = np.array([])
        for label in collection.labels:
            runs = collection.runs(dataset, label)
            if runs:
                freq = np.asarray(runs[0].metrics["class_freq"], dtype=float)
                # a class without test positives has no AP (None in metrics.json)
                ap = np.nanmean(np.array([run.metrics["per_class_ap"] for run in runs], dtype=float), axis=0)
                ax.scatter(freq, ap, label=label, alpha=0.8, s=22, **_style(collection, label))
        _shade_groups(ax, freq)
        ax.set_xscale("log")
        ax.set_xlabel("training images per class")
        ax.set_ylabel("AP (%)")
        ax.legend(fontsize="small")
    return _save(fig, stem)


def _shade_groups(ax: Axes, freq: np.ndarray) -> None:
    """Shade tail (< TAIL_MAX), medium and head (>= HEAD_MIN) frequency ranges across the data."""
    positive = freq[freq > 0]
    low, high = positive.min() / 1.5, positive.max() * 1.5
    bounds = {"tail": (low, TAIL_MAX), "medium": (TAIL_MAX, HEAD_MIN), "head": (HEAD_MIN, high)}
    for group, colour in GROUP_SHADES:
        ax.axvspan(*bounds[group], color=colour, alpha=0.08, label=group, zorder=0)
    ax.set_xlim(low, high)


def plot_group_bars(collection: Collection, stem: str | Path) -> list[Path]:
    """Total / head / medium / tail mAP per label as grouped bars, error bars = sample std over seeds."""
    fig, axes = _figure(collection)
    positions = np.arange(len(METRICS))
    for ax, dataset in zip(axes[0], collection.datasets):
        present = [label for label in collection.labels if collection.runs(dataset, label)]
        width = 0.8 / len(present)
        for i, label in enumerate(present):
            runs = collection.runs(dataset, label)
            stats = summarize(runs)
            ax.bar(
                positions + (i - (len(present) - 1) / 2) * width,
                [stats[m].mean for m in METRICS],
                width,
                yerr=[stats[m].std or 0.0 for m in METRICS],
                capsize=2,
                label=f"{label} (n={len(runs)})",
                color=_style(collection, label)["color"],
            )
        ax.set_xticks(positions, METRICS)
        ax.set_ylabel("mAP (%)")
        ax.legend(fontsize="small")
    return _save(fig, stem)


def plot_curves(collection: Collection, stem: str | Path) -> list[Path]:
    """Training loss (top) and test mAP (bottom) per epoch, one line per run, coloured by label."""
    fig, axes = _figure(collection, nrows=2)
    for column, dataset in enumerate(collection.datasets):
        for label in collection.labels:
            for i, run in enumerate(collection.runs(dataset, label)):
                for ax, key in zip(axes[:, column], ("train_loss", "test_map")):
                    points = [(row["epoch"], row[key]) for row in run.history if row.get(key) is not None]
                    if points:
                        epochs, values = zip(*points)
                        style = _style(collection, label)
                        ax.plot(epochs, values, label=label if i == 0 else None, markersize=4, **style)
        axes[0, column].set_ylabel("training loss")
        axes[1, column].set_ylabel("test mAP (%)")
        axes[1, column].set_xlabel("epoch")
        for ax in axes[:, column]:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes[0, column].legend(fontsize="small")
    return _save(fig, stem)
