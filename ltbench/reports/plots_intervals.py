"""Figures of the table's uncertainty: each row's mean with its 95% interval, and per-class AP as a heatmap.

The interval plot follows rliable's aggregate plots (Agarwal et al., 2021): one
panel per group, a row per method, the point at the mean over seeds and the bar
the interval over seeds and test images, on an axis fitted to the intervals, so
differences of a point or two are visible and their noise beside them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ltbench.reports.collect import Collection
from ltbench.reports.plots import FORMATS, class_ap, figure, row_name, row_style, save
from ltbench.reports.reference import METRICS
from ltbench.reports.table import DATASET_TITLES, LEVEL_PCT, build_table


def plot_intervals(collection: Collection, stem: str | Path, frame: pd.DataFrame | None = None,
                   formats: Sequence[str] = FORMATS) -> list[Path]:
    """Per dataset (rows of panels) and group (columns): every method's mean and 95% interval."""
    frame = build_table(collection) if frame is None else frame
    height = 0.9 + 0.3 * len(collection.labels)
    fig, axes = figure(collection, nrows=len(collection.datasets), ncols=len(METRICS), size=(3.4, height))
    for r, dataset in enumerate(collection.datasets):
        rows = frame[frame["dataset"] == dataset].set_index("label")
        labels = [label for label in collection.labels if label in rows.index]
        y = np.arange(len(labels))[::-1]
        for c, metric in enumerate(METRICS):
            ax = axes[r, c]
            for position, label in zip(y, labels):
                row, look = rows.loc[label], row_style(collection, dataset, label)
                if not np.isnan(row[f"{metric}_low"]):
                    ax.plot([row[f"{metric}_low"], row[f"{metric}_high"]], [position] * 2, color=look["color"],
                            lw=4, alpha=0.35, solid_capstyle="butt")
                ax.plot(row[f"{metric}_mean"], position, marker=look["marker"], color=look["color"],
                        markerfacecolor=look["markerfacecolor"], linestyle="none")
            ax.set_yticks(y, [row_name(collection, dataset, label) for label in labels] if c == 0 else [])
            ax.set_ylim(-0.7, len(labels) - 0.3)
            ax.grid(axis="x", alpha=0.3)
            ax.set_title(f"{DATASET_TITLES.get(dataset, dataset)}: {metric} mAP (%)", fontsize="medium")
            ax.set_xlabel(f"mean over seeds, bar: {LEVEL_PCT}% interval")
    return save(fig, stem, formats)


def plot_class_heatmap(collection: Collection, stem: str | Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Methods x classes AP (mean over seeds), classes by training frequency, head | medium | tail apart."""
    fig, axes = figure(collection, size=(max(6.0, 0.5 * _most_classes(collection) + 3), 0.9 + 0.38 * len(collection.labels)))
    for ax, dataset in zip(axes[0], collection.datasets):
        labels = [label for label in collection.labels if collection.runs(dataset, label)]
        metrics = collection.runs(dataset, labels[0])[0].metrics
        freq = np.asarray(metrics["class_freq"])
        order = np.argsort(-freq, kind="stable")
        with np.errstate(all="ignore"):
            ap = np.array([np.nanmean(class_ap(collection.runs(dataset, label)), 0)[order] for label in labels])
        image = ax.imshow(ap, aspect="auto", cmap="viridis", vmin=np.nanmin(ap), vmax=np.nanmax(ap))
        if ap.shape[1] <= 20:
            for (i, j), value in np.ndenumerate(ap):
                if not np.isnan(value):
                    ax.text(j, i, f"{value:.0f}", ha="center", va="center", fontsize="x-small",
                            color="white" if value < np.nanmean(ap) else "black")
        names = metrics.get("class_names") or [str(i) for i in range(freq.size)]
        ticks = [f"{names[k]} ({freq[k]})" for k in order]
        ax.set_xticks(np.arange(order.size), ticks, rotation=60, ha="right", fontsize="small")
        ax.set_yticks(np.arange(len(labels)), [row_name(collection, dataset, label) for label in labels])
        _separate_groups(ax, metrics.get("groups") or {}, order)
        fig.colorbar(image, ax=ax, label="AP (%), mean over seeds", fraction=0.04)
        ax.set_xlabel("class (training images), most frequent first")
    return save(fig, stem, formats)


def _separate_groups(ax, groups: dict, order: np.ndarray) -> None:  # noqa: ANN001 - a matplotlib Axes
    """White lines between head, medium and tail columns, group names on a top axis above them."""
    group_of = {int(k): name for name, members in groups.items() for k in members}
    names = [group_of.get(int(k), "") for k in order]
    centres, shown, start = [], [], 0
    for j in range(1, len(names) + 1):
        if j == len(names) or names[j] != names[start]:
            if j < len(names):
                ax.axvline(j - 0.5, color="white", lw=3)
            centres.append((start + j - 1) / 2)
            shown.append(names[start])
            start = j
    top = ax.secondary_xaxis("top")
    top.set_xticks(centres, shown)
    top.tick_params(length=0)


def _most_classes(collection: Collection) -> int:
    return max(len(runs[0].metrics["class_freq"]) for runs in collection.rows.values())
