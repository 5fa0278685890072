import numpy as np
import pytest

from sklearn_pseudolabel._validation import (
    as_image_tensor,
    check_float32_range,
    flatten_images,
    resolve_image_shape,
    unlabeled_mask,
)


@pytest.mark.parametrize(
    "y, expected",
    [
        (np.array([0, -1, 2]), [False, True, False]),
        (np.array([0.0, -1.0]), [False, True]),
        # The string "-1" marks unlabeled rows of string labels (CSV files,
        # np.array(["a", -1]) both give it).
        (np.array(["a", "-1"]), [False, True]),
        (np.array(["a", -1]), [False, True]),
        (np.array([b"a", b"-1"]), [False, True]),
        (np.array(["a", -1, "b"], dtype=object), [False, True, False]),
        (np.array(["a", "-1", -1.0], dtype=object), [False, True, True]),
        (np.array(["-10", "1-1"]), [False, False]),
    ],
)
def test_unlabeled_mask(y, expected):
    np.testing.assert_array_equal(unlabeled_mask(y), expected)


@pytest.mark.parametrize(
    "n_features, image_shape, expected",
    [
        (64, None, (1, 8, 8)),
        (784, None, (1, 28, 28)),
        (10, None, (1, 1, 10)),
        (64, (4, 16), (1, 4, 16)),
        (3072, (3, 32, 32), (3, 32, 32)),
    ],
)
def test_resolve_image_shape(n_features, image_shape, expected):
    assert resolve_image_shape(n_features, image_shape) == expected


@pytest.mark.parametrize(
    "n_features, image_shape, match",
    [
        (64, (7, 7), "holds 49 values per image, but X has 64"),
        (64, (1, 2, 4, 8), "image_shape must be"),
        (64, (0, 64), "image_shape must be"),
    ],
)
def test_resolve_image_shape_errors(n_features, image_shape, match):
    with pytest.raises(ValueError, match=match):
        resolve_image_shape(n_features, image_shape)


def test_flatten_images_views_without_copy():
    X = np.zeros((5, 3, 4, 4), dtype=np.uint8)
    flat, shape = flatten_images(X)
    assert flat.shape == (5, 48) and shape == (3, 4, 4)
    assert np.shares_memory(flat, X)
    assert flatten_images(np.zeros((5, 4, 4)))[1] == (1, 4, 4)
    assert flatten_images(np.zeros((5, 16)))[1] is None


def test_as_image_tensor_scales_uint8_only_and_copies():
    X = np.array([[0, 255, 51, 102]], dtype=np.uint8)
    t = as_image_tensor(X, (1, 2, 2))
    assert t.shape == (1, 1, 2, 2)
    np.testing.assert_allclose(t.flatten().numpy(), [0, 1, 0.2, 0.4])
    Xf = np.array([[0.0, 16.0, 3.0, 4.0]])
    tf = as_image_tensor(Xf, (1, 2, 2))
    tf += 1
    np.testing.assert_array_equal(Xf, [[0.0, 16.0, 3.0, 4.0]])  # a copy


@pytest.mark.parametrize(
    "view",
    [lambda X: X[::-1], lambda X: np.flip(X, axis=1), lambda X: X[:, ::2]],
)
def test_as_image_tensor_takes_any_memory_layout(view):
    X = np.arange(32, dtype=np.float32).reshape(4, 8)
    Xv = view(X)
    t = as_image_tensor(Xv, (1, 1, Xv.shape[1]))
    np.testing.assert_array_equal(t.reshape(len(Xv), -1).numpy(), Xv)


def test_float64_beyond_float32_is_rejected():
    X = np.zeros((2, 4))
    check_float32_range(X)
    X[1, 2] = -1e39
    with pytest.raises(ValueError, match="values up to 1e\\+39, beyond float32"):
        as_image_tensor(X, (1, 2, 2))


@pytest.mark.parametrize("shape", [(5, 8, 8, 3), (5, 28, 28, 1), (5, 32, 32, 4)])
def test_channels_last_arrays_get_a_clear_error(shape):
    with pytest.raises(ValueError, match=r"channels-last.*transpose\(0, 3, 1, 2\)"):
        flatten_images(np.zeros(shape))


def test_channels_first_small_images_are_not_mistaken():
    assert flatten_images(np.zeros((5, 3, 8, 8)))[1] == (3, 8, 8)
    assert flatten_images(np.zeros((5, 1, 4, 4)))[1] == (1, 4, 4)
