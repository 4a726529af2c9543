"""Bootstrap over test images: per-run group mAP on many resampled test sets, drawn once per test set.

A resample of the ``N`` test images is a vector of counts (how often each image
was drawn). AP on a resample equals scikit-learn's AP on the test set with each
image repeated ``count`` times, so it is computed from one sort of the scores per
class and weighted cumulative sums over all resamples at once, never by copying
images. ``scipy.stats.bootstrap`` draws the resamples (fixed seed) and gives each
run's 95% percentile interval; every run of one test set is evaluated inside ONE
call, so all of them see the same resamples and any two are paired.

Scores are only ranked, so sigmoid probabilities and raw logits give the same AP.
Every other metric (``ltbench.metrics``) takes the draw counts as image weights:
F1-type metrics are ratios of count sums, so each resample recomputes them from
its own weighted counts, exactly as on the test set with images repeated.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ltbench.data.label_values import known, positives
from ltbench.errors import LtbenchError
from ltbench.fileio.atomic import digest
from ltbench.metrics import DEFAULT, metric_values
from ltbench.metrics.scored import REPORTED as METRICS, Scored  # REPORTED: total, head, medium, tail
from ltbench.runs.run_dir import RunDir, RunReadError, RunRecord

RESAMPLES = 1000  # bootstrap resamples of the test images
SEED = 0  # the resamples are the same on every call, so a run's interval never changes between commands
LEVEL = 0.95
REPLICATES_VERSION = 1  # bump when the computation of the replicates changes: every stored replicate goes stale
BATCH = 250  # resamples evaluated together: bounds memory to N x BATCH counts (10 MB for COCO-LT's 5,000 images)


class ResampledAP:
    """Per-class AP (0..1) of one run's ``scores`` (N x C) under any resample counts (N x B): C x B.

    Equal to ``evaluation.average_precision`` on the images repeated ``counts[:, b]``
    times (tied scores are one threshold, as there); NaN where a resample holds no
    positive of the class. Only thresholds where a positive sits change AP, so each
    class is cut once into segments ending at those thresholds; a sparse product
    then sums the counts of every segment (all images, and positives alone) for all
    classes and resamples at once, and AP follows from cumulative sums over segments.
    """

    def __init__(self, scores: np.ndarray, targets: np.ndarray) -> None:
        positive, counted = positives(targets), known(targets)
        self.n_images, self.n_classes = scores.shape
        rows, pos_rows, columns, pos_columns, sizes = [], [], [], [], []
        for c in range(self.n_classes):
            images = np.flatnonzero(counted[:, c])  # ignored labels are out of the class's ranking
            order = images[np.argsort(-scores[images, c], kind="mergesort")]
            score, pos = scores[order, c], positive[order, c]
            tie_end = np.r_[np.flatnonzero(np.diff(score)), score.size - 1]
            tie_of = np.repeat(np.arange(tie_end.size), np.diff(np.r_[-1, tie_end]))  # rank -> tie group
            with_positive = np.flatnonzero(np.bincount(tie_of, weights=pos, minlength=tie_end.size) > 0)
            segment_of = np.searchsorted(with_positive, tie_of)  # rank -> segment ending at a positive threshold
            kept = segment_of < with_positive.size  # images below the last positive never change AP
            offset = sum(sizes)
            rows.append(offset + segment_of[kept])
            columns.append(order[kept])
            pos_rows.append(offset + segment_of[kept & pos])
            pos_columns.append(order[kept & pos])
            sizes.append(with_positive.size)
        shape = (sum(sizes), self.n_images)
        self.all = self._matrix(rows, columns, shape)
        self.positives = self._matrix(pos_rows, pos_columns, shape)
        self.sizes = np.asarray(sizes)
        self.starts = np.r_[0, np.cumsum(self.sizes)[:-1]]

    @staticmethod
    def _matrix(rows: list[np.ndarray], columns: list[np.ndarray], shape: tuple[int, int]) -> Any:
        from scipy.sparse import csr_matrix  # imported when needed: cached replicates never need scipy

        rows_, columns_ = np.concatenate(rows), np.concatenate(columns)
        return csr_matrix((np.ones(rows_.size, np.float32), (rows_, columns_)), shape=shape)

    def _within_class_cumsum(self, values: np.ndarray) -> np.ndarray:
        """Cumulative sums over each class's own segments (rows), for every resample (column)."""
        out = np.empty_like(values)
        for start, size in zip(self.starts, self.sizes):
            np.cumsum(values[start:start + size], axis=0, out=out[start:start + size])
        return out

    def __call__(self, counts: np.ndarray) -> np.ndarray:
        ap = np.full((self.n_classes, counts.shape[1]), np.nan)
        if not self.sizes.sum():
            return ap
        gain = np.asarray(self.positives @ counts)  # positives drawn at each threshold
        seen = self._within_class_cumsum(np.asarray(self.all @ counts))
        hits = self._within_class_cumsum(gain)
        np.maximum(seen, 1.0, out=seen)
        terms = np.multiply(gain, hits, out=gain)
        terms /= seen  # recall gain x precision, times the class's positives
        present = self.sizes > 0
        sums = np.add.reduceat(terms, self.starts[present], axis=0)
        totals = hits[self.starts[present] + self.sizes[present] - 1].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            ap[present] = np.where(totals > 0, sums / totals, np.nan)
        return ap


def group_maps(ap: np.ndarray, groups: dict[str, Sequence[int]]) -> np.ndarray:
    """``len(METRICS) x B`` mAP x100 (total, head, medium, tail) from per-class AP (0..1), C x B."""
    ap = ap * 100.0
    members = [np.arange(ap.shape[0]), *(np.asarray(groups.get(g, []), dtype=int) for g in METRICS[1:])]
    with warnings.catch_warnings():  # a group without a positive in a resample: NaN, said by the interval
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.stack([np.nanmean(ap[idx], axis=0) if idx.size else np.full(ap.shape[1], np.nan)
                         for idx in members])


@dataclass(frozen=True)
class RunSample:
    """One run's test scores as the bootstrap needs them."""

    scores: np.ndarray  # N x C, any monotone score (sigmoid or logit)
    targets: np.ndarray  # N x C, 0/1
    groups: dict[str, list[int]]
    score: str = "logit"  # the score function that made ``scores`` (docs/scores.md)

    def statistic(self, metric: str = DEFAULT) -> Callable[[np.ndarray], np.ndarray]:
        """Draw counts (N x B) -> the metric's total/head/medium/tail values on each resample (4 x B)."""
        if metric == DEFAULT:
            ap = ResampledAP(self.scores, self.targets)
            return lambda counts: group_maps(ap(counts), self.groups)
        scored = Scored(self.scores, self.targets, self.groups, self.score)
        return lambda counts: metric_values(metric, scored, counts)


def test_set_key(targets: np.ndarray) -> str:
    """Runs whose targets are identical (same images, same order) share a test set and are paired."""
    values = np.where(known(targets), positives(targets), 2).astype(np.uint8)  # 0/1 targets: the bytes of ``> 0``
    return hashlib.sha1(np.ascontiguousarray(values).tobytes() + str(targets.shape).encode()).hexdigest()


def replicates_key(sample: RunSample, metric: str = DEFAULT) -> str:
    """Digest of everything a run's replicates of ``metric`` follow from; replicates stored under another key are stale."""
    scores = hashlib.sha256(np.ascontiguousarray(sample.scores).tobytes()).hexdigest()
    other = [] if metric == DEFAULT else [metric, sample.score]  # mAP keeps the keys written before other metrics
    return digest([REPLICATES_VERSION, scores, list(sample.scores.shape), test_set_key(sample.targets),
                   sample.groups, RESAMPLES, SEED, *other])


def sample_of(scores: np.ndarray, targets: np.ndarray, score: str, metrics: dict[str, Any]) -> RunSample:
    """A run's sample from its scores.npz content and its metrics.json (the class groups)."""
    groups = {g: [int(c) for c in (metrics.get("groups") or {}).get(g, [])] for g in METRICS[1:]}
    return RunSample(np.asarray(scores, dtype=np.float32), targets, groups, score)


def read_sample(run: RunRecord) -> RunSample:
    """The run's scores.npz; a run without one cannot be bootstrapped, which is said in one sentence."""
    try:
        scores, targets, score = RunDir(run.path).scores()
    except RunReadError as exc:
        raise LtbenchError(f"{exc}; intervals need each run's test scores.") from None
    return sample_of(scores, targets, score, run.metrics)


def percentile_interval(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 95% percentile interval over the last axis, NaN replicates left out (all NaN: NaN)."""
    alpha = 100 * (1 - LEVEL) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanpercentile(values, [alpha, 100 - alpha], axis=-1)
    return low, high


@dataclass(frozen=True)
class Replicates:
    """Per run: the metric (mAP unless asked) on every resample, ``len(METRICS) x B``; paired across runs."""

    test_set: str
    values: dict[Path, np.ndarray]  # run path -> 4 x B
    low: dict[Path, np.ndarray]  # run path -> 4 (percentile interval)
    high: dict[Path, np.ndarray]


def bootstrap_runs(samples: dict[Path, RunSample], resamples: int = RESAMPLES, seed: int = SEED,
                   metric: str = DEFAULT) -> Replicates:
    """Resample the shared test set once (scipy, fixed seed) and evaluate every run's ``metric`` on each resample."""
    from scipy.stats import DegenerateDataWarning, bootstrap  # seconds of import, only when something is computed

    keys = {test_set_key(s.targets) for s in samples.values()}
    if len(keys) != 1:
        raise LtbenchError("These runs were evaluated on different test sets, so they cannot be paired; "
                           "compare runs of one dataset and split.")
    paths = list(samples)
    n_images = next(iter(samples.values())).targets.shape[0]

    statistic_of = {path: sample.statistic(metric) for path, sample in samples.items()}

    def statistic(index: np.ndarray, axis: int = -1) -> np.ndarray:
        index = np.atleast_2d(np.moveaxis(index, axis, -1)).astype(np.int64)
        batch = index.shape[0]
        flat = index + (np.arange(batch) * n_images)[:, None]
        counts = np.bincount(flat.ravel(), minlength=batch * n_images).reshape(batch, n_images)
        counts = np.ascontiguousarray(counts.T, dtype=np.float32)  # N x B; float32 sums of counts are exact
        out = np.concatenate([statistic_of[p](counts) for p in paths])
        return out if index.ndim > 1 else out[:, 0]

    with warnings.catch_warnings():  # a resample without a positive in some group: handled below, not an alarm
        warnings.simplefilter("ignore", DegenerateDataWarning)
        result = bootstrap((np.arange(n_images),), statistic, vectorized=True, n_resamples=resamples, batch=BATCH,
                           confidence_level=LEVEL, method="percentile", rng=np.random.default_rng(seed))
    distribution = result.bootstrap_distribution.reshape(len(paths), len(METRICS), -1)
    # scipy's percentile interval, but leaving out resamples where a group had no positive (its mAP undefined)
    low, high = percentile_interval(distribution)
    return Replicates(keys.pop(), dict(zip(paths, distribution)), dict(zip(paths, low)), dict(zip(paths, high)))
