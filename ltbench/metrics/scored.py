"""One run's test scores as every metric reads them, and the class sets a metric is reported on.

``weights`` (N x B) say how often each test image counts: ones (N x 1) for the
test set itself, bootstrap draw counts for resamples. A metric computed with
integer weights equals the metric on the test set with every image repeated
that many times, so one implementation gives both the point value and its
bootstrap replicates (``ltbench.reports.bootstrap``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from ltbench.data.groups import GROUP_NAMES
from ltbench.data.label_values import known, positives

REPORTED = ("total", *GROUP_NAMES)  # every metric is reported over all classes and per frequency group
SCORE_FUNCTIONS = ("logit", "log_softmax", "sigmoid")  # what scores.npz may hold (docs/scores.md)


class NotApplicable(ValueError):
    """The metric needs a quantity the run's score function does not keep (e.g. a probability threshold)."""


@dataclass(frozen=True)
class Scored:
    """Test scores (N x C, through the score function ``score``), 0/1 targets and the frequency groups."""

    scores: np.ndarray
    targets: np.ndarray
    groups: Mapping[str, Sequence[int]] = field(default_factory=dict)
    score: str = "logit"

    def __post_init__(self) -> None:
        if self.scores.shape != self.targets.shape or self.scores.ndim != 2:
            raise ValueError(f"scores {self.scores.shape} and targets {self.targets.shape} must be equal N x C arrays")
        if self.score not in SCORE_FUNCTIONS:
            raise ValueError(f"unknown score function {self.score!r}; one of {', '.join(SCORE_FUNCTIONS)}")

    @property
    def positive(self) -> np.ndarray:
        return positives(self.targets)

    @property
    def known(self) -> np.ndarray:
        """N x C: False for an ignored label (``label_values.IGNORED``), which the metrics leave out."""
        return known(self.targets)

    def class_sets(self) -> list[np.ndarray]:
        """Class indices of each reported set: all classes, then head, medium, tail (empty if a group is)."""
        every = np.arange(self.scores.shape[1])
        return [every, *(np.asarray(self.groups.get(g, []), dtype=int) for g in GROUP_NAMES)]


def unit_weights(scored: Scored) -> np.ndarray:
    """N x 1 ones: the test set as it is."""
    return np.ones((scored.scores.shape[0], 1))
