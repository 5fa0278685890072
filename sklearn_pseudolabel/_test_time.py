"""Prediction, and test-time augmentation: probabilities averaged over fixed warps."""

import torch

from ._augment import affine_grid
from ._distort import affine_theta, warp

__all__ = ["AffineViews", "predict_classes", "predict_labels", "predict_proba"]

#: Rows per chunk of the passes that keep only classes: a multiple of every
#: device's inference batch size.
_CHUNK_ROWS = 2**16

#: The warps, one at a time, as (rotation in degrees, zoom, shift (x, y) as a
#: fraction of the side): rotations by ±8°, zooms by ±8 % and shifts by ±5 %
#: (1.4 pixels on MNIST) along each axis. Within the weak view's ranges
#: (``WEAK_DISTORTION``), which the network learned to be invariant to.
_WARPS = (
    (-8.0, 1.0, (0.0, 0.0)),
    (8.0, 1.0, (0.0, 0.0)),
    (0.0, 0.92, (0.0, 0.0)),
    (0.0, 1.08, (0.0, 0.0)),
    (0.0, 1.0, (-0.05, 0.0)),
    (0.0, 1.0, (0.05, 0.0)),
    (0.0, 1.0, (0.0, -0.05)),
    (0.0, 1.0, (0.0, 0.05)),
)


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
        return len(_WARPS)

    def __repr__(self):
        return f"AffineViews(value_range={self.value_range!r})"

    @staticmethod
    def _thetas(X):
        """Return the ``(len(_WARPS), 2, 3)`` matrices of the warps for ``X``."""
        degrees, zoom, shift = zip(*_WARPS)
        options = dict(device=X.device, dtype=X.dtype)
        return affine_theta(
            torch.deg2rad(torch.tensor(degrees, **options)),
            torch.zeros(len(_WARPS), **options),
            torch.tensor(zoom, **options),
            # affine_grid's coordinates span 2 per side.
            2 * torch.tensor(shift, **options),
            X.shape[2],
            X.shape[3],
        )

    def view(self, X, k):
        """Warp ``k`` of the images ``X`` of shape ``(N, C, H, W)`` (float)."""
        return self._warp(X, self._thetas(X)[k])

    def _warp(self, X, theta):
        grid = affine_grid(theta.expand(len(X), 2, 3), X.shape)
        low, high = self.value_range
        return warp(X, grid, low, high)

    def predict_proba(self, net, X, rows=None):
        """Mean softmax of ``net`` over ``X`` (or its ``rows``) and the warps.

        ``net`` is a :class:`~sklearn_pseudolabel._net.PseudoLabelNet`;
        ``X`` a float tensor ``(N, C, H, W)`` on its device. Returns a
        ``(n, n_classes)`` float32 tensor on that device. The warps'
        matrices are made once per call, not once per batch.
        """
        proba = torch.softmax(net.predict_logits(X, rows), dim=1)
        for theta in self._thetas(X):
            logits = net.predict_logits(
                X, rows, view=lambda B, theta=theta: self._warp(B, theta)
            )
            proba += torch.softmax(logits, dim=1)
        return proba.div_(1 + len(self))


def predict_proba(net, views, X, rows=None):
    """Probabilities of ``net`` for tensor ``X`` (or its ``rows``), on its device.

    ``net`` is a :class:`~sklearn_pseudolabel._net.PseudoLabelNet`, ``X`` a
    float tensor ``(N, C, H, W)`` on its device. Averaged over ``views``
    (:class:`AffineViews`) unless it is None. The probabilities stay on the
    device: the caller copies them to the host once.
    """
    if views is None:
        return torch.softmax(net.predict_logits(X, rows), dim=1)
    return views.predict_proba(net, X, rows)


def predict_classes(net, views, X, rows):
    """Return the most probable class of ``X``'s ``rows``, as ``predict_proba``.

    In chunks of rows, so that only the classes of every row are kept, not
    their probabilities; the chunks are whole inference batches, so that the
    classes are those of one pass.
    """
    classes = []
    for start in range(0, len(rows), _CHUNK_ROWS):
        chunk = rows[start : start + _CHUNK_ROWS]
        classes.append(predict_proba(net, views, X, chunk).argmax(dim=1))
    return torch.cat(classes) if classes else rows.new_empty(0)


def predict_labels(net, plan, X, y):
    """Return ``y`` (class indices) with its -1 rows labelled by ``net``.

    The transduction: ``net`` predicts the rows of ``X`` whose ``y`` is -1
    through ``plan.test_time_views``; the other rows keep their label.
    Returns a host array.
    """
    labels = y.clone()
    unlabeled = labels < 0
    rows = unlabeled.nonzero()[:, 0]
    if len(rows):
        labels[rows] = predict_classes(net, plan.test_time_views, X, rows)
    return labels.cpu().numpy()
