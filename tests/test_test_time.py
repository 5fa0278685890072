"""Tests of the fixed warps of test-time augmentation (``_test_time.py``)."""

import numpy as np
import pytest
import torch

from sklearn_pseudolabel._test_time import AffineViews


def _bar(size=40, value_range=(0.0, 1.0)):
    """One image: a horizontal bar of ink across the middle, centred."""
    low, high = value_range
    X = torch.full((1, 1, size, size), low)
    X[:, :, size // 2 - 2 : size // 2 + 2, 10:-10] = high
    return X


def test_eight_views_keep_the_shape_and_the_range():
    views = AffineViews(value_range=(-1.0, 1.0))
    X = _bar(value_range=(-1.0, 1.0)).repeat(3, 2, 1, 1)
    assert len(views) == 8
    for k in range(len(views)):
        V = views.view(X, k)
        assert V.shape == X.shape and V.dtype == X.dtype
        assert V.min() >= -1 and V.max() <= 1
        # What comes in from outside is the background, -1.
        assert torch.all(V[..., 0, :] == -1)
        assert not torch.equal(V, X)


def test_shifts_move_the_image_by_five_percent_of_the_side():
    # 5 % of 40 pixels: 2 pixels, a whole number, so bilinear sampling is a
    # plain shift.
    X = _bar()
    X[:, :, 8:12, 18:22] = 1.0  # break the symmetry
    shifted = [AffineViews().view(X, k) for k in range(4, 8)]
    rolls = [torch.roll(X, s, dims=d) for d in (3, 2) for s in (2, -2)]
    for V, R in zip(shifted, rolls):
        torch.testing.assert_close(V, R)


def test_rotations_are_mirror_images_and_zooms_change_the_ink():
    views = AffineViews()
    X = _bar()
    left, right = views.view(X, 0), views.view(X, 1)
    # The bar is symmetric under a left-right flip, which turns -8° into +8°.
    torch.testing.assert_close(left, right.flip(3))
    assert not torch.allclose(left, X)
    ink = X.sum()
    assert views.view(X, 2).sum() < ink < views.view(X, 3).sum()


def test_each_image_is_warped_alone():
    rng = np.random.default_rng(0)
    X = torch.as_tensor(rng.random((5, 1, 28, 28)), dtype=torch.float32)
    views = AffineViews()
    for k in range(len(views)):
        torch.testing.assert_close(views.view(X, k)[2:3], views.view(X[2:3], k))


@pytest.mark.parametrize("shape", [(2, 1, 28, 40), (2, 3, 16, 16)])
def test_non_square_and_colour_images(shape):
    X = torch.rand(shape)
    V = AffineViews().view(X, 0)
    assert V.shape == X.shape
    # Channels are warped alike: equal channels stay equal.
    X = X[:, :1].expand(shape).contiguous()
    V = AffineViews().view(X, 1)
    torch.testing.assert_close(V[:, :1].expand(shape), V)
