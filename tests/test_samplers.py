"""Class-aware sampler: uniform class visits on a long-tailed label matrix, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from ltbench.data.samplers import ClassAwareSampler
from ltbench.errors import LtbenchError
from ltbench.registry import SAMPLERS

COUNTS = [200, 60, 20, 6, 2]  # single-label, long-tailed; a sixth class has no image


def single_label_targets() -> np.ndarray:
    labels = np.repeat(np.arange(len(COUNTS)), COUNTS)
    targets = np.zeros((len(labels), len(COUNTS) + 1), dtype=np.uint8)
    targets[np.arange(len(labels)), labels] = 1
    return targets


def test_classes_are_visited_uniformly_and_empty_class_is_skipped() -> None:
    targets = single_label_targets()
    sampler = ClassAwareSampler(targets, num_samples_cls=3, seed=0)
    indices = list(sampler)
    assert len(indices) == len(sampler) == len(targets)
    per_class = targets[indices].sum(axis=0)
    assert per_class[-1] == 0
    # whole cycles over the 5 non-empty classes, 3 images per visit: counts differ by at most one visit
    assert per_class[:-1].max() - per_class[:-1].min() <= 3
    assert per_class[4] > 50  # the 2-image class, instead of 2 draws under uniform sampling


def test_each_class_cycles_through_all_its_images_before_repeating() -> None:
    targets = single_label_targets()
    indices = list(ClassAwareSampler(targets, seed=1))
    tail = [i for i in indices if targets[i, 3]]  # the 6-image class
    tail_images = set(np.flatnonzero(targets[:, 3]))
    for start in range(0, len(tail) - 5, 6):
        assert set(tail[start : start + 6]) == tail_images


def test_visits_draw_three_images_sharing_a_class_on_multilabel_data() -> None:
    rng = np.random.default_rng(0)
    targets = (rng.random((100, 6)) < np.array([0.6, 0.3, 0.1, 0.05, 0.03, 0.02])).astype(np.uint8)
    indices = list(ClassAwareSampler(targets, num_samples_cls=3, seed=0))
    for start in range(0, len(indices) - 2, 3):
        assert targets[indices[start : start + 3]].all(axis=0).any()


def test_deterministic_for_a_seed_and_epochs_differ() -> None:
    targets = single_label_targets()
    a, b = ClassAwareSampler(targets, seed=3), ClassAwareSampler(targets, seed=3)
    first = list(a)
    assert first == list(b)
    assert list(a) == list(b) != first  # second epochs agree with each other, not with the first
    assert list(ClassAwareSampler(targets, seed=4)) != first


def test_reduce_gives_db_length() -> None:
    sampler = ClassAwareSampler(single_label_targets(), reduce=4)
    assert len(sampler) == len(list(sampler)) == 200 * 5 // 4


def test_no_positive_label_is_an_error() -> None:
    with pytest.raises(LtbenchError, match="at least one positive label"):
        ClassAwareSampler(np.zeros((4, 3), dtype=np.uint8))


def test_fast_forward_continues_the_sequence_of_an_uninterrupted_sampler() -> None:
    targets = single_label_targets()
    uninterrupted = ClassAwareSampler(targets, seed=3)
    epochs = [list(uninterrupted) for _ in range(3)]
    resumed = ClassAwareSampler(targets, seed=3)
    resumed.fast_forward(2)
    assert list(resumed) == epochs[2] != epochs[1]


def test_class_aware_fixed_seed_draws_the_same_in_every_run():
    """DB's ClassAwareSampler reseeds to 0 when built (sampler.py:273-274): its draws never follow the run's seed."""
    targets = np.eye(4, dtype=np.uint8)[np.arange(40) % 4]
    draws = {seed: list(SAMPLERS.build("class_aware", targets=targets, seed=seed, fixed_seed=0)) for seed in (1, 2)}
    assert draws[1] == draws[2]
    assert list(SAMPLERS.build("class_aware", targets=targets, seed=1)) != list(
        SAMPLERS.build("class_aware", targets=targets, seed=2))
