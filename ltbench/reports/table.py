"""Collected runs -> the paper's table as a pandas DataFrame: every number computed once (``render.py`` formats).

One row per (label, dataset), in the collection's order, with for each metric
of ``METRICS``: the mean and sample std over seeds, the 95% interval over seeds
and test images (``uncertainty.row_intervals``), whether the row is in the
column's best set, and the published value and difference where a reference row
matches. ``df.attrs["notes"]`` holds the footnotes every view prints.

Best set: the rows not significantly worse than the column's top mean (the 95%
paired-bootstrap interval of their difference to it reaches 0). Smoke rows and
rows of an earlier recipe never compete, and a column with a single row has no best.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ltbench.metrics import DEFAULT, Metric, get_metric
from ltbench.metrics.recorded import recorded_values
from ltbench.runs.test_selected import ORACLE_LABEL, best_test_epoch
from ltbench.reports.bootstrap import LEVEL, RESAMPLES
from ltbench.reports.collect import Collection
from ltbench.reports.evidence import row_samples
from ltbench.reports.recipe_age import EARLIER_RECIPE
from ltbench.reports.reference import METRICS, Reference
from ltbench.reports.uncertainty import not_worse_than_top, row_intervals
from ltbench.runs.run_dir import RunRecord
from ltbench.runs.random_weights import DAGGER

DATASET_TITLES = {"voc_lt": "VOC-LT", "coco_lt": "COCO-LT", "mnist_lt": "MNIST-LT"}
LEVEL_PCT = round(LEVEL * 100)
NOTES = {
    "values": "{title} (%), mean ± sample std over n seeds (one seed: the value); "
              f"[low, high]: {LEVEL_PCT}% interval over seeds and test images (hierarchical bootstrap, "
              f"{RESAMPLES} resamples; docs/reports.md).",
    "best": f"Bold: rows not significantly worse than the best mean of the column (paired bootstrap over seeds "
            f"and test images; the {LEVEL_PCT}% interval of the difference to the top row reaches 0).",
    "smoke": f"{DAGGER} random weights: a smoke run, not the method's published setting; never bold, never averaged "
             "with real runs.",
    "earlier": f"[{EARLIER_RECIPE}]: runs whose config id differs from the one their suite row resolves to now; "
               "never bold, never averaged with runs of the current recipe (docs/reports.md).",
    "oracle": f"'{ORACLE_LABEL}': total mAP of the epoch with the best test mAP, as the CPRFL authors select; "
              "choosing on the test set makes it optimistic, so it is shown apart and never used as the result.",
}


def summarize_values(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample std (NaN with a single value)."""
    array = np.asarray(values, dtype=float)
    return float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else float("nan")


def summarize(runs: Sequence[RunRecord], metric: str = DEFAULT) -> dict[str, tuple[float, float]]:
    """Mean and sample std of ``metric`` (mAP unless asked) over ``runs`` (one per seed), per group of METRICS."""
    values = np.array([recorded_values(run, metric) for run in runs], dtype=float)
    return {group: summarize_values(values[:, i]) for i, group in enumerate(METRICS)}


def _oracle(runs: Sequence[RunRecord]) -> tuple[float, float]:
    """Mean and std over runs of the best per-epoch test mAP; NaN if a run has no test curve."""
    best = [best_test_epoch(run.history) for run in runs]
    if any(b is None for b in best):
        return float("nan"), float("nan")
    return summarize_values([b.test_map for b in best])


def build_table(collection: Collection, reference: Reference | None = None, oracle: bool = False,
                metric: str = DEFAULT) -> pd.DataFrame:
    """The table of ``collection`` in ``metric`` (``ltbench.metrics``; mAP by default); published rows of
    ``reference`` matched by (label, dataset).

    ``oracle`` adds the test-selected columns, labelled as not a valid result. Published
    numbers and the test-selected column are mAP, so they are shown with mAP only.
    """
    if metric != DEFAULT and (reference is not None or oracle):
        reference, oracle = None, False
    samples = row_samples(collection, metric)
    records = []
    for label in collection.labels:
        for dataset in collection.datasets:
            runs = collection.runs(dataset, label)
            if not runs:
                continue
            published = reference.lookup(label, dataset) if reference else None
            sample = samples.get((dataset, label))
            intervals = row_intervals(sample) if sample is not None else np.full((len(METRICS), 2), np.nan)
            record = {"label": label, "dataset": dataset, "n": len(runs),
                      "seeds": " ".join(str(run.metrics["seed"]) for run in runs),
                      "smoke": collection.smoke(dataset, label),
                      "earlier_recipe": collection.earlier_recipe(dataset, label)}
            for i, (group, (mean, std)) in enumerate(summarize(runs, metric).items()):
                record |= {f"{group}_mean": mean, f"{group}_std": std, f"{group}_low": intervals[i, 0],
                           f"{group}_high": intervals[i, 1], f"{group}_best": False,
                           f"{group}_published": published.values[group] if published else np.nan,
                           f"{group}_diff": mean - published.values[group] if published else np.nan}
            record["published_source"] = published.source if published else ""
            if oracle:
                record["test_selected_mean"], record["test_selected_std"] = _oracle(runs)
            records.append(record)
    frame = pd.DataFrame.from_records(records)
    _mark_best(frame, samples)
    frame.attrs.update(reference=reference.table if reference else None, oracle=oracle, metric=metric,
                       datasets=list(collection.datasets), labels=list(collection.labels))
    frame.attrs["notes"] = _notes(frame, get_metric(metric))
    return frame


def _mark_best(frame: pd.DataFrame, samples: dict) -> None:
    """Set ``<metric>_best`` for the rows not significantly worse than their column's top mean."""
    for dataset in frame["dataset"].unique() if len(frame) else []:
        rows = frame[(frame["dataset"] == dataset) & ~frame["smoke"] & ~frame["earlier_recipe"]]
        for i, metric in enumerate(METRICS):
            means = dict(zip(rows["label"], rows[f"{metric}_mean"]))
            competing = {label: samples[(dataset, label)] for label in rows["label"]
                         if (dataset, label) in samples and np.isfinite(means[label])}  # NaN: not applicable
            if len(competing) < 2:
                continue
            best = not_worse_than_top(competing, means, i)
            frame.loc[(frame["dataset"] == dataset) & frame["label"].isin(best), f"{metric}_best"] = True


def _notes(frame: pd.DataFrame, metric: Metric) -> list[str]:
    notes = [NOTES["values"].replace("{title}", metric.title), NOTES["best"]]
    if metric.name != DEFAULT:
        notes.append(f"{metric.title}: {metric.definition}; predicted: {metric.decision}; source: {metric.source} "
                     "(docs/metrics.md). '–': undefined for the group or not applicable to the run's scores.")
    if len(frame) and frame["smoke"].any():
        notes.append(NOTES["smoke"])
    if len(frame) and frame["earlier_recipe"].any():
        notes.append(NOTES["earlier"])
    if frame.attrs["oracle"]:
        notes.append(NOTES["oracle"])
    sources = [s for s in dict.fromkeys(frame.get("published_source", [])) if s]
    if sources:
        notes.append(f"Published: {'; '.join(sources)}.")
    return notes
