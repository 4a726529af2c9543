import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from ltbench.evaluation import average_precision, chance_map, classes_without_test_positives, evaluate


def test_ap_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=(200, 7)).astype(float)  # few distinct values: many ties
    targets = rng.random((200, 7)) < 0.2
    targets[0] = True
    expected = [average_precision_score(targets[:, c], scores[:, c]) for c in range(7)]
    np.testing.assert_allclose(average_precision(scores, targets), expected, rtol=1e-12)


def test_ap_matches_sklearn_continuous_scores():
    rng = np.random.default_rng(1)
    scores = rng.random((300, 5))
    targets = rng.random((300, 5)) < np.linspace(0.02, 0.5, 5)
    expected = [average_precision_score(targets[:, c], scores[:, c]) for c in range(5)]
    np.testing.assert_allclose(average_precision(scores, targets), expected, rtol=1e-12)


def test_perfect_and_hand_computed_ap():
    targets = np.array([[1], [0], [1], [0]])
    assert average_precision(np.array([[0.9], [0.1], [0.8], [0.2]]), targets)[0] == 1.0
    # ranking: pos, neg, pos, neg -> AP = (1/1 + 2/3) / 2
    assert average_precision(np.array([[0.9], [0.8], [0.7], [0.1]]), targets)[0] == pytest.approx((1 + 2 / 3) / 2)


def test_group_means_and_missing_positive_class():
    rng = np.random.default_rng(2)
    scores, targets = rng.random((50, 4)), rng.random((50, 4)) < 0.3
    targets[:, 3] = False  # no positive test image: excluded from every mean
    result = evaluate(scores, targets, {"head": np.array([0, 1]), "medium": np.array([2]), "tail": np.array([3])})
    ap = average_precision(scores, targets) * 100
    assert result["total"] == pytest.approx(np.mean(ap[:3]))
    assert result["head"] == pytest.approx(np.mean(ap[:2]))
    assert result["medium"] == pytest.approx(ap[2])
    assert np.isnan(result["tail"]) and result["per_class_ap"][3] is None
    assert result["no_test_positives"] == [3]
    assert classes_without_test_positives(targets, ["a", "b", "c", "d"]) == ["d"]


def test_chance_map_is_mean_prevalence():
    targets = np.array([[1, 0], [0, 0], [1, 1], [0, 0]])
    assert chance_map(targets) == pytest.approx((50 + 25) / 2)
