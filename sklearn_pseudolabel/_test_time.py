"""Test-time augmentation: predictions averaged over fixed warps of each image."""

import math

import torch

from ._augment import affine_grid
from ._distort import affine_theta, warp

__all__ = ["AffineViews"]

#: The warps, one at a time: rotations by this many degrees either way ...
_ROTATION = 8.0
#: ... zooms in and out by this fraction ...
_ZOOM = 0.08
#: ... and shifts by this fraction of the side along each axis (1.4 pixels on
#: MNIST). Within the weak view's ranges (``WEAK_DISTORTION``), which the
#: student learns to be invariant to.
_SHIFT = 0.05


class AffineViews:
    """Average a network's probabilities over an image and 8 fixed warps of it.

    The warps are the same for every image: rotations by ±8°, zooms by ±8 %
    and shifts by ±5 % of the side along each axis, one at a time. Each row's
    prediction therefore depends on that row alone, not on the rest of the
    batch or on a random draw.

    Parameters
    ----------
    value_range : tuple of float, default=(0.0, 1.0)
        ``(background, maximum)`` pixel values: what a warp brings in from
        outside the image, and the range its output is clipped to.

    Examples
    --------
    >>> import torch
    >>> from sklearn_pseudolabel._test_time import AffineViews
    >>> views = AffineViews()
    >>> len(views)
    8
    >>> X = torch.zeros(2, 1, 28, 28)
    >>> X[:, :, 6:22, 12:16] = 1.0
    >>> views.view(X, 0).shape
    torch.Size([2, 1, 28, 28])
    """

    def __init__(self, value_range=(0.0, 1.0)):
        self.value_range = value_range

    def __len__(self):
        return 8

    def _theta(self, k, height, width, like):
        """Return the ``(1, 2, 3)`` matrix of warp ``k`` for these image sides."""
        angle, scale, shift = 0.0, 1.0, [0.0, 0.0]
        sign = -1.0 if k % 2 == 0 else 1.0
        if k < 2:
            angle = math.radians(sign * _ROTATION)
        elif k < 4:
            scale = 1 + sign * _ZOOM
        else:
            # affine_grid's coordinates span 2 per side.
            shift[k // 6] = 2 * sign * _SHIFT
        options = dict(device=like.device, dtype=like.dtype)
        return affine_theta(
            torch.tensor([angle], **options),
            torch.zeros(1, **options),
            torch.tensor([scale], **options),
            torch.tensor([shift], **options),
            height,
            width,
        )

    def view(self, X, k):
        """Warp ``k`` of the images ``X`` of shape ``(N, C, H, W)`` (float)."""
        return self._warp(X, self._theta(k, X.shape[2], X.shape[3], X))

    def _warp(self, X, theta):
        grid = affine_grid(theta.expand(len(X), 2, 3), X.shape)
        low, high = self.value_range
        return warp(X, grid, low, high)

    def predict_proba(self, net, X, rows=None):
        """Mean softmax of ``net`` over ``X`` (or its ``rows``) and the warps.

        ``net`` is a :class:`~sklearn_pseudolabel._net.PseudoLabelNet`;
        ``X`` a float tensor ``(N, C, H, W)`` on its device. Returns a
        ``(n, n_classes)`` float32 tensor on that device. Each warp's matrix
        is made once per call, not once per batch.
        """
        proba = torch.softmax(net.predict_logits(X, rows), dim=1)
        for k in range(len(self)):
            theta = self._theta(k, X.shape[2], X.shape[3], X)
            logits = net.predict_logits(
                X, rows, view=lambda B, theta=theta: self._warp(B, theta)
            )
            proba += torch.softmax(logits, dim=1)
        return proba.div_(1 + len(self))
