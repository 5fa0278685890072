import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_pseudolabel import hide_labels


def test_balanced_counts_and_values_kept():
    y = np.repeat(np.arange(10), 50)
    y_partial = hide_labels(y, n_labeled=100, random_state=0)
    kept = y_partial != -1
    assert kept.sum() == 100
    np.testing.assert_array_equal(np.bincount(y_partial[kept]), [10] * 10)
    np.testing.assert_array_equal(y_partial[kept], y[kept])


def test_input_not_mutated_and_reproducible():
    y = np.repeat(np.arange(3), 20)
    y_before = y.copy()
    a = hide_labels(y, 9, random_state=1)
    b = hide_labels(y, 9, random_state=1)
    c = hide_labels(y, 9, random_state=2)
    np.testing.assert_array_equal(y, y_before)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_balanced_with_a_small_class():
    y = np.array([0] * 2 + [1] * 50 + [2] * 50)
    y_partial = hide_labels(y, 30, random_state=0)
    np.testing.assert_array_equal(np.bincount(y_partial[y_partial != -1]), [2, 14, 14])


def test_proportional_and_random():
    y = np.array([0] * 80 + [1] * 20)
    y_prop = hide_labels(y, 10, stratify="proportional", random_state=0)
    np.testing.assert_array_equal(np.bincount(y_prop[y_prop != -1]), [8, 2])
    y_rand = hide_labels(y, 10, stratify=None, random_state=0)
    assert (y_rand != -1).sum() == 10


def test_string_labels_become_object_with_minus_one():
    y = np.array(["cat", "dog"] * 5)
    y_partial = hide_labels(y, 4, random_state=0)
    assert y_partial.dtype == object
    assert sum(v == -1 for v in y_partial) == 6
    assert sorted(v for v in y_partial if v != -1) == ["cat", "cat", "dog", "dog"]


def test_unsigned_labels_get_signed_dtype():
    y = np.arange(10, dtype=np.uint8)
    assert hide_labels(y, 5, random_state=0).dtype == np.int64


@settings(max_examples=50, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 30), min_size=2, max_size=6),
    frac=st.floats(0.01, 1.0),
    stratify=st.sampled_from(["balanced", "proportional", None]),
)
def test_exact_count_for_any_class_sizes(sizes, frac, stratify):
    y = np.repeat(np.arange(len(sizes)), sizes)
    n_labeled = max(1, int(frac * len(y)))
    y_partial = hide_labels(y, n_labeled, stratify=stratify, random_state=0)
    assert (y_partial != -1).sum() == n_labeled


@pytest.mark.parametrize(
    "y, n, match",
    [
        (np.arange(5), 6, "exceeds"),
        (np.array([0, 1, -1, 1]), 2, "already contains -1"),
        (np.arange(5), 0, "n_labeled"),
    ],
)
def test_errors(y, n, match):
    with pytest.raises(ValueError, match=match):
        hide_labels(y, n)
