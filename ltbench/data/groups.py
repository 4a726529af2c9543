"""Head / medium / tail groups from training class frequencies (Wu et al. 2020 thresholds)."""

from __future__ import annotations

import numpy as np

HEAD_MIN = 100  # head: >= 100 training images (the split files use >=; docs/losses.md, The protocol)
TAIL_MAX = 20  # tail: < 20 training images; medium is everything in between
GROUP_NAMES = ("head", "medium", "tail")


def split_groups(class_freq: np.ndarray) -> dict[str, np.ndarray]:
    """Class indices of each group, sorted ascending."""
    freq = np.asarray(class_freq)
    return {
        "head": np.flatnonzero(freq >= HEAD_MIN),
        "medium": np.flatnonzero((freq >= TAIL_MAX) & (freq < HEAD_MIN)),
        "tail": np.flatnonzero(freq < TAIL_MAX),
    }
