"""Class-aware sampler: uniform class visits on a long-tailed label matrix, determinism; the group sampler."""

from __future__ import annotations

import numpy as np
import pytest

from ltbench.data.samplers import ClassAwareSampler, GroupSampler, aspect_flags
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


# (width, height): wide, tall, square (image 2: 2 % 2 = 0), tall, wide, square (image 5: 1), wide
SIZES = [(500, 375), (375, 500), (400, 400), (333, 500), (500, 333), (400, 400), (640, 480)]


def test_aspect_flags_follow_db_custom_dataset() -> None:
    """custom.py:188-203 at 14460d0: 1 wider than tall, 0 taller, i % 2 square; i % 2 for all without sizes."""
    assert aspect_flags(np.array(SIZES), len(SIZES)).tolist() == [1, 0, 0, 0, 1, 1, 1]
    assert aspect_flags(None, 5).tolist() == [0, 1, 0, 1, 0]


def test_group_sampler_worked_example() -> None:
    """Seed 3, batches of 2: group 0 = images 1, 2, 3, group 1 = 0, 4, 5, 6. np.random.seed(3), then as the
    authors' code draws: shuffle([1, 2, 3]) -> [2, 1, 3], padded with its first image -> [2, 1, 3, 2];
    shuffle([0, 4, 5, 6]) -> [6, 5, 0, 4]; permutation(range(4)) -> [3, 2, 1, 0] takes the four batches in
    reverse: [0, 4], [6, 5], [3, 2], [2, 1]."""
    np.random.seed(3)
    small = np.array([1, 2, 3])
    np.random.shuffle(small)
    large = np.array([0, 4, 5, 6])
    np.random.shuffle(large)
    assert small.tolist() == [2, 1, 3] and large.tolist() == [6, 5, 0, 4]
    assert np.random.permutation(range(4)).tolist() == [3, 2, 1, 0]
    sizes = np.array(SIZES)
    sampler = SAMPLERS.build("group", targets=np.zeros((7, 2)), seed=3, batch_size=2, sizes=sizes)
    assert len(sampler) == 8
    assert list(sampler) == [0, 4, 6, 5, 3, 2, 2, 1]


def test_group_sampler_small_groups_fall_back_to_alternating_flags() -> None:
    """A group smaller than a batch turns every flag into i % 2 (sampler.py:48-53): 5 wide images, batches of 2
    -> groups {0, 2, 4} and {1, 3}, padded to 4 and 2."""
    sampler = GroupSampler(np.ones(5), samples_per_gpu=2, seed=0)
    assert sampler.flags.tolist() == [0, 1, 0, 1, 0] and len(sampler) == 6
    epoch = list(sampler)
    batches = [set(epoch[i:i + 2]) for i in range(0, 6, 2)]
    assert all(batch <= {0, 2, 4} or batch <= {1, 3} for batch in batches)
    assert set(epoch) == set(range(5))


def test_group_sampler_fast_forward_continues_the_sequence() -> None:
    whole = GroupSampler(aspect_flags(np.array(SIZES), 7), samples_per_gpu=2, seed=5)
    resumed = GroupSampler(aspect_flags(np.array(SIZES), 7), samples_per_gpu=2, seed=5)
    first, second = list(whole), list(whole)
    resumed.fast_forward(1)
    assert list(resumed) == second != first
