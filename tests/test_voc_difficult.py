"""VOC's difficult objects: positive (DB's rule, the default) or ignored (mmpretrain's), read from a miniature
VOC tree, and ignored labels left out of AP, the bootstrap and every other metric."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, precision_recall_fscore_support, roc_auc_score

from ltbench.data.label_values import IGNORED
from ltbench.data.voc import voc_lt
from ltbench.errors import LtbenchError
from ltbench.evaluation import average_precision
from ltbench.metrics import metric_values
from ltbench.metrics.scored import Scored
from ltbench.reports.bootstrap import ResampledAP
from test_voc_coco import private_cache, voc_row, voc_tree  # noqa: F401 - fixtures


def test_difficult_positive_by_default_and_ignored_on_request(voc_tree: tuple[Path, Path]) -> None:
    root, splits = voc_tree
    default = voc_lt(root=str(root), splits=str(splits))
    assert default.meta["difficult"] == "positive"
    np.testing.assert_array_equal(default.test.targets[1], voc_row("tvmonitor", "sofa"))
    ignored = voc_lt(root=str(root), splits=str(splits), difficult="ignore")
    np.testing.assert_array_equal(ignored.train.targets, [voc_row("dog"), voc_row(), voc_row("chair", "diningtable",
                                                                                         "person")])
    expected = np.array(voc_row("tvmonitor"), dtype=np.uint8)
    expected[voc_row("sofa").index(1)] = IGNORED  # only a difficult sofa: out of evaluation
    np.testing.assert_array_equal(ignored.test.targets[1], expected)
    with pytest.raises(LtbenchError, match="dataset.difficult"):
        voc_lt(root=str(root), splits=str(splits), difficult="negative")


def _ignored_example() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    targets = (rng.random((80, 5)) < 0.3).astype(np.uint8)
    scores = np.round(rng.normal(size=(80, 5)) + targets, 1)
    marked = targets.copy()
    marked[rng.random((80, 5)) < 0.15] = IGNORED
    return scores, marked, marked != IGNORED


def test_ignored_labels_leave_ap_and_the_bootstrap() -> None:
    scores, targets, known = _ignored_example()
    expected = [average_precision_score(targets[known[:, c], c], scores[known[:, c], c]) for c in range(5)]
    np.testing.assert_allclose(average_precision(scores, targets), expected, atol=1e-12)
    np.testing.assert_allclose(ResampledAP(scores.astype(np.float32), targets)(np.ones((80, 1), np.float32))[:, 0],
                               expected, atol=1e-6)


def test_ignored_labels_in_the_other_metrics() -> None:
    """mmpretrain: an ignored label is neither predicted nor true; ML-GCN: a negative; ranking metrics: absent."""
    scores, targets, known = _ignored_example()
    scored = Scored(scores, targets)
    pred, truth = (scores >= 0), targets == 1
    macro = precision_recall_fscore_support(truth & known, pred & known, average="macro", zero_division=0)
    assert metric_values("cf1_mmpretrain", scored)[0, 0] == pytest.approx(100 * macro[2])
    micro = precision_recall_fscore_support(truth, pred, average="micro")
    assert metric_values("of1", scored)[0, 0] == pytest.approx(100 * micro[2])  # every class is predicted
    auroc = np.mean([roc_auc_score(truth[known[:, c], c], scores[known[:, c], c]) for c in range(5)])
    assert metric_values("auroc", scored)[0, 0] == pytest.approx(100 * auroc)


def test_ignored_labels_leave_the_images_ranking() -> None:
    scores, targets, known = _ignored_example()
    per_image = [average_precision_score(targets[i, known[i]] == 1, scores[i, known[i]])
                 for i in range(80) if (targets[i] == 1).any()]
    assert metric_values("image_map", Scored(scores, targets))[0, 0] == pytest.approx(100 * np.mean(per_image))
