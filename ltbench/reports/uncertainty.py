"""Intervals for a table row (seeds and test images) and paired differences between two rows.

A row is k runs (seeds) of one config on one test set; each run has its mAP on
the same B resamples of the test images (``bootstrap.py``). The estimator is a
two-level (hierarchical) bootstrap in the manner of rliable's stratified
bootstrap (Agarwal et al., NeurIPS 2021) and of Bouthillier et al. (MLSys 2021),
who show that both the seed and the test sample move benchmark numbers: replicate
b draws k seeds with replacement and averages their mAP on image resample b, so
its spread holds seed-to-seed and test-set variance together. With k = 3 the seed
level can only take 10 distinct draws and understates seed variance by a factor
(k - 1) / k; the mean ± sample std over seeds is shown beside it for that reason.

Two rows on one test set are paired: the same image resample for both and, where
they share seed numbers, the same seed draw, so the difference's interval has
the common noise removed. Its probability of improvement is rliable's
P(B > A) (the chance that a run of B beats a run of A, ties counting half)
averaged over image resamples; two identical rows give exactly 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass
import numpy as np

from ltbench.errors import LtbenchError
from ltbench.reports.bootstrap import SEED, percentile_interval

@dataclass(frozen=True)
class RowSample:
    """One row's runs on one test set: their seeds and their replicates, k x metrics x B."""

    seeds: tuple[int, ...]
    points: np.ndarray  # k x metrics: each run's mAP on the full test set
    replicates: np.ndarray  # k x metrics x B
    test_set: str = ""  # rows are paired only on one test set (``bootstrap.test_set_key``)


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class Difference:
    """B − A in one metric: the mean difference, its 95% interval and P(B > A)."""

    delta: float
    interval: Interval
    improvement: float  # probability that B beats A

    @property
    def significant(self) -> bool:
        return not self.interval.contains(0.0)


def _percentile(values: np.ndarray) -> Interval:
    low, high = percentile_interval(values)
    return Interval(float(low), float(high))


def _seed_draws(k: int, resamples: int, seed: int = SEED) -> np.ndarray:
    """B x k seed indices drawn with replacement (one draw per image resample), fixed seed."""
    return np.random.default_rng(seed).integers(0, k, size=(resamples, k))


def row_intervals(row: RowSample) -> np.ndarray:
    """metrics x 2 (low, high): the hierarchical bootstrap interval of the row's mean over seeds."""
    k, n_metrics, resamples = row.replicates.shape
    draws = _seed_draws(k, resamples)  # B x k
    columns = np.arange(resamples)[:, None]
    out = np.empty((n_metrics, 2))
    for m in range(n_metrics):
        means = row.replicates[:, m, :][draws, columns].mean(axis=1)  # B
        interval = _percentile(means)
        out[m] = interval.low, interval.high
    return out


def _paired(a: RowSample, b: RowSample) -> tuple[np.ndarray, np.ndarray]:
    """A's and B's runs laid out so that index i is the same seed in both, when they share all seeds."""
    if sorted(a.seeds) == sorted(b.seeds):
        return a.replicates[np.argsort(a.seeds)], b.replicates[np.argsort(b.seeds)]
    return a.replicates, b.replicates


def difference(a: RowSample, b: RowSample, metric: int) -> Difference:
    """B − A in ``metric`` (index into METRICS), paired on test images and, where shared, seeds."""
    if a.test_set != b.test_set:
        raise LtbenchError("These rows were tested on different test sets, so their difference has no paired "
                           "interval; compare rows of one dataset.")
    ra, rb = _paired(a, b)
    ra, rb = ra[:, metric, :], rb[:, metric, :]  # k x B
    resamples = ra.shape[1]
    columns = np.arange(resamples)[:, None]
    draws_a = _seed_draws(ra.shape[0], resamples)
    paired = sorted(a.seeds) == sorted(b.seeds)
    draws_b = draws_a if paired else _seed_draws(rb.shape[0], resamples, SEED + 1)
    deltas = rb[draws_b, columns].mean(axis=1) - ra[draws_a, columns].mean(axis=1)
    delta = float(b.points[:, metric].mean() - a.points[:, metric].mean())
    return Difference(delta, _percentile(deltas), improvement(ra, rb))


def improvement(ra: np.ndarray, rb: np.ndarray) -> float:
    """P(B > A): over every pair (run of A, run of B) and image resample, B higher counts 1, a tie 1/2."""
    diff = rb[None, :, :] - ra[:, None, :]  # kA x kB x B
    valid = ~np.isnan(diff)
    wins = (diff > 0).sum() + 0.5 * (diff == 0).sum()
    return float(wins / valid.sum()) if valid.any() else float("nan")


def not_worse_than_top(rows: dict[str, RowSample], means: dict[str, float], metric: int) -> set[str]:
    """Rows whose difference to the row with the best mean has a 95% interval reaching 0 (the top included)."""
    if not rows:
        return set()
    top = max(rows, key=lambda label: means[label])
    return {label for label, row in rows.items()
            if label == top or difference(rows[top], row, metric).interval.high >= 0.0}
