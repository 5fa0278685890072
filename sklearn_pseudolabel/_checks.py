"""The checks of the training data, and the rows ``early_stopping`` holds out."""

import warnings

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._augment import _BaseAugmenter
from ._disk import DiskImages
from ._validation import (
    IMAGE_DTYPES,
    as_image_tensor,
    flatten_images,
    resolve_image_shape,
    unlabeled_mask,
)

__all__ = ["check_fit_data", "check_predict_data", "validation_split"]


def check_fit_data(estimator, X, y):
    """Validate training images and labels; set ``n_features_in_``.

    Returns the 2-D rows ``X`` (a :class:`~sklearn_pseudolabel._disk.DiskImages`
    when ``X`` is a memory-mapped array, read from its file), the encoded
    labels (class indices, -1 for unlabeled rows), the class labels and the
    ``(C, H, W)`` image shape.
    """
    source = X
    X, array_shape = flatten_images(X)
    X, y = validate_data(estimator, X, y, dtype=IMAGE_DTYPES)
    image_shape = resolve_image_shape(X.shape[1], estimator.image_shape, array_shape)
    X = DiskImages.from_array(source, image_shape, estimator.device) or X
    _check_pixel_scale(estimator, X)
    tta = estimator.test_time_augmentation
    if not isinstance(tta, str) and tta and min(image_shape[1:]) < 2:
        raise ValueError(
            "test_time_augmentation=True warps images, but X holds rows of "
            f"features (image_shape={image_shape}): set it to 'auto' or False."
        )
    unlabeled = unlabeled_mask(y)
    if unlabeled.all():
        raise ValueError("y has no labeled samples: every value is -1.")
    # Checked on the labeled rows only: object y mixes labels and int -1.
    check_classification_targets(y[~unlabeled])
    encoder = LabelEncoder().fit(y[~unlabeled])
    if len(encoder.classes_) < 2:
        raise ValueError(
            "The labeled samples must contain at least 2 classes; got 1 "
            f"class: {encoder.classes_[0]!r}. Rows with y == -1 are "
            "unlabeled (the sklearn.semi_supervised convention): encode a "
            "class named -1 otherwise, e.g. {-1, 1} as {0, 1}."
        )
    if not unlabeled.any():
        warnings.warn("y contains no unlabeled samples", UserWarning)
    y_encoded = np.full(len(y), -1, dtype=np.int64)
    y_encoded[~unlabeled] = encoder.transform(y[~unlabeled])
    return X, y_encoded, encoder.classes_, image_shape


def check_predict_data(estimator, X):
    """Validate images to predict; return them as a tensor on the device."""
    check_is_fitted(estimator)
    source = X
    X, array_shape = flatten_images(X)
    X = validate_data(estimator, X, reset=False, dtype=IMAGE_DTYPES)
    if array_shape is not None and array_shape != estimator.image_shape_:
        raise ValueError(
            f"X holds images of shape {array_shape}; this estimator was "
            f"fitted on images of shape {estimator.image_shape_}."
        )
    device = estimator.net_.device
    disk = DiskImages.from_array(source, estimator.image_shape_, device)
    return disk or as_image_tensor(X, estimator.image_shape_, device)


def _check_pixel_scale(estimator, X):
    """Warn about unscaled float pixels; reject pixels the augmenters clip."""
    if getattr(X, "file_dtype", X.dtype) == np.uint8 or not len(X):
        return
    low, high = X.pixel_range() if isinstance(X, DiskImages) else (X.min(), X.max())
    for name in ("augmenter", "augmenter_unlabeled"):
        augmenter = getattr(estimator, name)
        if not isinstance(augmenter, _BaseAugmenter):
            continue  # "auto" learns its range from X; others are opaque
        a, b = augmenter._value_range(np.float32)  # what augment_tensor uses
        if low < a or high > b:
            raise ValueError(
                f"X has values in [{low:g}, {high:g}], outside the pixel range "
                f"({a:g}, {b:g}) of {name}: it would clip them. Scale X "
                "(uint8 images are divided by 255; scale floats to [0, 1]) or "
                f"set {name}__value_range."
            )
    if low >= 0 and high > 1:
        warnings.warn(
            f"X holds float pixels up to {high:g}: they are used as given, "
            "and networks train poorly on unscaled pixels. Scale them to "
            "[0, 1] (e.g. X / 255), or pass uint8 images, which are scaled "
            "for you.",
            UserWarning,
        )


def validation_split(estimator, y_encoded, seed):
    """Return training and validation row indices, or ``(None, None)``.

    With ``early_stopping``, a stratified share ``validation_fraction`` of
    the labeled rows, drawn with ``seed``, is held out; every unlabeled row
    trains.
    """
    if not estimator.early_stopping:
        return None, None
    labeled = np.flatnonzero(y_encoded >= 0)
    try:
        train, valid = train_test_split(
            labeled,
            test_size=estimator.validation_fraction,
            stratify=y_encoded[labeled],
            random_state=seed,
        )
    except ValueError as exc:
        raise ValueError(
            f"early_stopping holds out validation_fraction="
            f"{estimator.validation_fraction} of the {len(labeled)} labeled rows, "
            "stratified: every class needs a labeled row on both sides "
            f"({exc}). Raise validation_fraction, label more rows, or turn "
            "early_stopping off."
        ) from exc
    train = np.sort(np.concatenate([train, np.flatnonzero(y_encoded < 0)]))
    return torch.as_tensor(train), torch.as_tensor(np.sort(valid))
