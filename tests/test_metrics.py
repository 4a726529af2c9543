"""The metrics beside mAP against hand computations and scikit-learn, and their bootstrap weights."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    label_ranking_average_precision_score, precision_recall_fscore_support, roc_auc_score,
)

from ltbench.errors import LtbenchError
from ltbench.metrics import METRICS, evaluate_metrics, get_metric, metric_values
from ltbench.metrics.scored import Scored

# 4 images x 3 classes: image 1 ties all its classes, image 2 has no label and a score exactly at the threshold,
# class 0 ties a positive with a negative (images 0 and 1)
HAND_SCORES = np.array([[1.0, 0.5, -1.0], [1.0, 1.0, 1.0], [0.3, 0.1, 0.0], [-0.5, 3.0, -2.0]])
HAND_TARGETS = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0], [1, 1, 0]])
HAND_GROUPS = {"head": [0], "medium": [1], "tail": [2]}
# decisions (logit >= 0): TP = 1, 2, 0; predicted = 3, 4, 2; positives = 2, 2, 1
HAND = {
    "cp": 5 / 18, "cr": 1 / 2, "cf1": 5 / 14, "op": 1 / 3, "or": 3 / 5, "of1": 3 / 7,
    "cp_mmpretrain": 5 / 18, "cr_mmpretrain": 1 / 2, "cf1_mmpretrain": 16 / 45,  # mean of F1 0.4, 2/3, 0
    "op_mmpretrain": 1 / 3, "or_mmpretrain": 3 / 5, "of1_mmpretrain": 3 / 7,
    "image_map": 13 / 18,  # images 0, 1, 3: 5/6, 1/3 (three tied classes), 1; image 2 has no positive
    "auroc": (0.375 + 1.0 + 1 / 3) / 3,  # class 0: tie between a positive and a negative counts 1/2
}


def _value(name: str, scores=HAND_SCORES, targets=HAND_TARGETS, groups=HAND_GROUPS, score="logit") -> np.ndarray:
    return metric_values(name, Scored(scores, targets, groups, score))[:, 0] / 100.0


@pytest.mark.parametrize("name", sorted(HAND))
def test_hand_computed_total(name):
    assert _value(name)[0] == pytest.approx(HAND[name], abs=1e-12)


def test_hand_computed_groups():
    assert _value("cf1")[1:] == pytest.approx([0.4, 2 / 3, 0.0])  # class 0: P 1/3, R 1/2; class 1: P 1/2, R 1
    assert _value("auroc")[1:] == pytest.approx([0.375, 1.0, 1 / 3])
    assert np.isnan(_value("image_map")[1:]).all()  # a per-image metric has no per-group value


# 2 images x 5 classes; image 1 ties classes 2, 3, 4 at the third place (class 2, the lowest index, is taken)
TOP_SCORES = np.array([[3.0, 2.0, -1.0, -2.0, 1.0], [0.5, -0.1, -0.3, -0.3, -0.3]])
TOP_TARGETS = np.array([[1, 0, 0, 0, 1], [0, 1, 1, 0, 0]])


def test_the_two_top3_definitions_differ_on_one_example():
    """ML-GCN: top 3 AND logit >= 0 (image 1 keeps class 0 only); mmpretrain: the top 3, no threshold."""
    mlgcn = {n: _value(n, TOP_SCORES, TOP_TARGETS, {})[0] for n in ("cp_top3", "cr_top3", "cf1_top3", "op_top3",
                                                                     "or_top3", "of1_top3")}
    # predicted {0, 1, 4} and {0}; class 2 and 3 are predicted nowhere, so max(P_c, 1) adds 2 to OP's denominator
    assert mlgcn == pytest.approx({"cp_top3": 0.375, "cr_top3": 0.5, "cf1_top3": 3 / 7, "op_top3": 1 / 3,
                                   "or_top3": 0.5, "of1_top3": 0.4})
    mmp = {n: _value(f"{n}_mmpretrain", TOP_SCORES, TOP_TARGETS, {})[0] for n in mlgcn}
    # predicted {0, 1, 4} and {0, 1, 2}; class 3 (no positive, never predicted) counts with P = R = F1 = 0
    assert mmp == pytest.approx({"cp_top3": 0.6, "cr_top3": 0.8, "cf1_top3": 2 / 3, "op_top3": 2 / 3,
                                 "or_top3": 1.0, "of1_top3": 0.8})


def _random_example(seed: int = 0, n: int = 300, c: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    targets = (rng.random((n, c)) < np.linspace(0.05, 0.5, c)).astype(np.uint8)
    scores = np.round(rng.normal(size=(n, c)) + 1.5 * targets - 0.7, 1)  # rounding makes ties
    return scores, targets


def _independent_top3(scores: np.ndarray) -> np.ndarray:
    chosen = np.zeros(scores.shape, dtype=int)
    for i, row in enumerate(scores):
        for c in sorted(range(row.size), key=lambda c: (-row[c], c))[:3]:
            chosen[i, c] = 1
    return chosen


@pytest.mark.parametrize("suffix, decide", [
    ("", lambda s: (s >= 0).astype(int)),
    ("_top3", _independent_top3),
])
def test_mmpretrain_equals_sklearn_macro_and_micro(suffix, decide):
    scores, targets = _random_example()
    pred = decide(scores)
    for average, prefix in (("macro", "c"), ("micro", "o")):
        expected = precision_recall_fscore_support(targets, pred, average=average, zero_division=0)[:3]
        got = [_value(f"{prefix}{stat}{suffix}_mmpretrain", scores, targets, {})[0] for stat in ("p", "r", "f1")]
        assert got == pytest.approx(expected, abs=1e-12)


def test_mlgcn_against_sklearn_where_they_agree():
    """Every class predicted and positive somewhere: O* are sklearn's micro, CP/CR its macro P/R; CF1 is not its
    macro F1 but the F1 of CP and CR."""
    scores, targets = _random_example(1)
    pred = (scores >= 0).astype(int)
    assert pred.sum(axis=0).min() > 0 and targets.sum(axis=0).min() > 0
    micro = precision_recall_fscore_support(targets, pred, average="micro")[:3]
    assert [_value(n, scores, targets, {})[0] for n in ("op", "or", "of1")] == pytest.approx(micro, abs=1e-12)
    cp, cr, macro_f1 = precision_recall_fscore_support(targets, pred, average="macro")[:3]
    assert [_value(n, scores, targets, {})[0] for n in ("cp", "cr")] == pytest.approx([cp, cr], abs=1e-12)
    assert _value("cf1", scores, targets, {})[0] == pytest.approx(2 * cp * cr / (cp + cr), abs=1e-12)
    assert abs(_value("cf1", scores, targets, {})[0] - macro_f1) > 1e-3


def test_ranking_metrics_against_sklearn():
    scores, targets = _random_example(2)
    groups = {"head": [0, 1], "medium": [2, 3, 4], "tail": [5, 6]}
    per_class = np.array([roc_auc_score(targets[:, c], scores[:, c]) for c in range(scores.shape[1])])
    expected = [per_class.mean(), *(per_class[groups[g]].mean() for g in ("head", "medium", "tail"))]
    assert _value("auroc", scores, targets, groups) == pytest.approx(expected, abs=1e-12)
    labelled = targets.sum(axis=1) > 0
    assert (~labelled).any()
    lrap = label_ranking_average_precision_score(targets[labelled], scores[labelled])
    assert _value("image_map", scores, targets, {})[0] == pytest.approx(lrap, abs=1e-12)


def test_auroc_leaves_out_a_class_with_one_label_value():
    scores, targets = _random_example(3)
    targets[:, 2] = 0
    per_class = [roc_auc_score(targets[:, c], scores[:, c]) for c in range(scores.shape[1]) if c != 2]
    assert _value("auroc", scores, targets, {})[0] == pytest.approx(np.mean(per_class), abs=1e-12)


@pytest.mark.parametrize("name", sorted(METRICS))
def test_draw_counts_equal_repeated_images(name):
    """What the bootstrap relies on: weights w give the metric of the test set with image i repeated w_i times."""
    scores, targets = _random_example(4, n=60)
    groups = {"head": [0, 1], "medium": [2, 3, 4], "tail": [5, 6]}
    counts = np.random.default_rng(5).multinomial(60, np.full(60, 1 / 60), size=3).T  # N x 3 resamples
    got = metric_values(name, Scored(scores.astype(np.float32), targets, groups), counts.astype(float))
    for b in range(counts.shape[1]):
        index = np.repeat(np.arange(60), counts[:, b])
        expected = metric_values(name, Scored(scores[index].astype(np.float32), targets[index], groups))[:, 0]
        np.testing.assert_allclose(got[:, b], expected, rtol=1e-5, atol=1e-9)


def test_score_functions():
    """Old sigmoid runs decide as logits do; log-softmax runs keep the ranking metrics and lose the thresholds."""
    scores, targets = _random_example(6)
    logits = Scored(scores.astype(np.float32), targets)
    sigmoid = Scored((1 / (1 + np.exp(-scores))).astype(np.float32), targets, score="sigmoid")
    log_softmax = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    softmax = Scored(log_softmax.astype(np.float32), targets, score="log_softmax")
    for name in ("cf1", "of1_top3", "cp_mmpretrain", "of1_top3_mmpretrain", "auroc"):
        assert metric_values(name, sigmoid)[0] == pytest.approx(metric_values(name, logits)[0], abs=1e-6)
    assert metric_values("of1_top3_mmpretrain", softmax)[0] == pytest.approx(
        metric_values("of1_top3_mmpretrain", logits)[0])
    assert np.isnan(metric_values("cf1", softmax)).all()
    recorded = evaluate_metrics(softmax)
    assert recorded["cf1"]["total"] is None and "log-softmax" in recorded["cf1"]["not_applicable"]
    assert recorded["cf1_top3_mmpretrain"]["total"] is not None
    assert "logit >= 0" in evaluate_metrics(logits)["cf1"]["decision"]
    assert "sigmoid >= 0.5" in evaluate_metrics(sigmoid)["cf1"]["decision"]


def test_unknown_metric_is_one_sentence():
    with pytest.raises(LtbenchError, match="Unknown metric 'f1'.*cf1"):
        get_metric("f1")
