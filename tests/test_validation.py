import numpy as np
import pytest

from sklearn_pseudolabel._validation import (
    as_image_tensor,
    flatten_images,
    resolve_image_shape,
    unlabeled_mask,
)


@pytest.mark.parametrize(
    "y, expected",
    [
        (np.array([0, -1, 2]), [False, True, False]),
        (np.array([0.0, -1.0]), [False, True]),
        (np.array(["a", "-1"]), [False, False]),
        (np.array(["a", -1, "b"], dtype=object), [False, True, False]),
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
