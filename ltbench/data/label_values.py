"""What a target value means: 1 positive, 0 negative, ``IGNORED`` a label left out of evaluation.

``IGNORED`` marks test labels that neither count as positive nor as negative:
VOC classes present only through difficult objects under ``dataset.difficult=ignore``
(mmpretrain's ``VOCMultiLabelMetric``, which marks them -1). Targets stay uint8
(scores.npz stores them), so the mark is 255. Training targets never hold it.
"""

from __future__ import annotations

import numpy as np

IGNORED = 255


def positives(targets: np.ndarray) -> np.ndarray:
    """Boolean N x C: the labels that count as positive."""
    targets = np.asarray(targets)
    return (targets > 0) & (targets != IGNORED)


def known(targets: np.ndarray) -> np.ndarray:
    """Boolean N x C: the labels evaluation counts at all (positive or negative)."""
    return np.asarray(targets) != IGNORED
