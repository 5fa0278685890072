"""Input checks shared by the estimators: image arrays, image shapes, -1 labels."""

from math import isqrt, prod

import numpy as np
import torch
from scipy import sparse
from sklearn.utils import check_array

__all__ = [
    "as_image_tensor",
    "check_float32_range",
    "flatten_images",
    "resolve_image_shape",
    "unlabeled_mask",
]

#: dtypes kept by validation; anything else becomes float32.
IMAGE_DTYPES = (np.float32, np.uint8, np.float64)


def unlabeled_mask(y):
    """Boolean mask of the rows marked unlabeled.

    The marker is -1, as in :mod:`sklearn.semi_supervised`: the number -1,
    and for string labels the string ``"-1"`` (what a CSV file, or
    ``np.array(["cat", -1])``, turns it into). Object arrays compare
    element-wise, so they may mix string labels with the integer -1.
    """
    y = np.asarray(y)
    if y.dtype.kind in "US":
        return np.asarray(y == y.dtype.type("-1"), dtype=bool)
    if y.dtype.kind == "V":
        return np.zeros(y.shape, dtype=bool)
    if y.dtype.kind == "O":
        return np.array([v == -1 or v == "-1" for v in y.ravel()], dtype=bool).reshape(
            y.shape
        )
    return np.asarray(y == -1, dtype=bool)


def flatten_images(X):
    """Turn an image array ``(n, H, W)`` or ``(n, C, H, W)`` into 2-D rows.

    Parameters
    ----------
    X : array-like or sparse matrix
        Anything an estimator's ``fit`` accepts.

    Returns
    -------
    X : array-like
        ``X`` unchanged if it is not a 3-D or 4-D array, else a 2-D view of it.

    shape : tuple of int or None
        ``(C, H, W)`` read from a 3-D or 4-D ``X``, else None.
    """
    if sparse.issparse(X) or hasattr(X, "iloc"):
        return X, None
    try:
        shape = X.shape if hasattr(X, "shape") else np.asarray(X).shape
    except (ValueError, TypeError):  # ragged input: validate_data will say so
        return X, None
    if len(shape) not in (3, 4):
        return X, None
    if len(shape) == 4 and shape[3] in (1, 3, 4) and shape[1] not in (1, 3, 4):
        raise ValueError(
            f"X has shape {tuple(shape)}: images are read channels-first, "
            f"(n, channels, height, width), which would make these {shape[1]} "
            f"channels of {shape[2]}x{shape[3]} pixels. If X is channels-last "
            "(n, height, width, channels), pass X.transpose(0, 3, 1, 2)."
        )
    X = check_array(X, allow_nd=True, dtype=IMAGE_DTYPES, input_name="X")
    shape = (1, *X.shape[1:]) if X.ndim == 3 else X.shape[1:]
    return X.reshape(X.shape[0], -1), tuple(int(s) for s in shape)


def resolve_image_shape(n_features, image_shape=None, array_shape=None):
    """Return the ``(C, H, W)`` shape of one image of ``n_features`` pixels.

    Parameters
    ----------
    n_features : int
        Number of values per sample.

    image_shape : tuple of int or None
        The user's ``image_shape`` parameter: ``(H, W)`` (grey) or
        ``(C, H, W)``. None infers it: a square grey image when
        ``n_features`` is a perfect square, else a one-row image
        ``(1, 1, n_features)``, so that tabular data also works.

    array_shape : tuple of int or None
        The shape read from a 3-D or 4-D input array, which must agree with
        ``image_shape`` when both are given.

    Returns
    -------
    shape : tuple of int
        ``(C, H, W)``.
    """
    if image_shape is not None:
        shape = tuple(int(s) for s in image_shape)
        if len(shape) == 2:
            shape = (1, *shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(
                "image_shape must be (height, width) or (channels, height, width) "
                f"of positive integers; got {image_shape!r}."
            )
        if prod(shape) != n_features:
            raise ValueError(
                f"image_shape={image_shape!r} holds {prod(shape)} values per "
                f"image, but X has {n_features} features."
            )
        if array_shape is not None and array_shape != shape:
            raise ValueError(
                f"X holds images of shape {array_shape}, which does not match "
                f"image_shape={image_shape!r}."
            )
        return shape
    if array_shape is not None:
        return array_shape
    side = isqrt(n_features)
    if side * side == n_features:
        return (1, side, side)
    return (1, 1, n_features)


def check_float32_range(X, name="X"):
    """Reject float64 values that float32, the networks' precision, cannot hold."""
    if X.dtype == np.float64 and X.size:
        largest = np.abs(X).max()
        if largest > np.finfo(np.float32).max:
            raise ValueError(
                f"{name} has values up to {largest:.3g}, beyond float32 (the "
                f"network's precision, at most {np.finfo(np.float32).max:.3g}). "
                "Scale the data."
            )


def as_image_tensor(X, image_shape, device="cpu"):
    """Copy validated 2-D rows into a float32 tensor ``(n, C, H, W)``.

    ``uint8`` pixels are divided by 255 (to [0, 1]); other dtypes are taken
    as they are. The caller's array is never written to; any memory layout
    works (reversed or strided views included).
    """
    X = np.ascontiguousarray(X)
    check_float32_range(X)
    tensor = torch.tensor(X, device=device)
    tensor = tensor.reshape(tensor.shape[0], *image_shape)
    if tensor.dtype == torch.uint8:
        return tensor.to(torch.float32).div_(255.0)
    return tensor.to(torch.float32)
