"""AugmentationSampler: static expansion of the labeled set (``fit_resample``)."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_consistent_length, column_or_1d

from ._augment import ImageAugmenter
from ._validation import unlabeled_mask

__all__ = ["AugmentationSampler"]

_METHODS = {"rotation": "max_rotation", "shift": "max_shift", "noise": "noise_std"}


class AugmentationSampler(BaseEstimator):
    """Expand the labeled images with augmented copies, once, before training.

    The reference experiment's static augmentation: for each augmentation
    that ``augmenter`` enables (rotation, shift, noise: magnitude > 0),
    ``n_copies`` augmented copies of every labeled image, each copy using that
    one augmentation. With the defaults, 3,000 labeled MNIST images become
    3,000 + 3 × 10 × 3,000 = 93,000 (90,000 without the originals).

    It follows imbalanced-learn's sampler contract (``fit_resample``), so an
    :class:`imblearn.pipeline.Pipeline` applies it during ``fit`` only, never
    at predict time. (It is a separate class from :class:`ImageAugmenter`
    because imbalanced-learn refuses a step that has both ``transform`` and
    ``fit_resample``.) For augmentation without the memory cost, see the
    ``augmenter`` parameter of :class:`PseudoLabelCNNClassifier`.

    Rows with ``y == -1`` (unlabeled) are passed through once, unaugmented, at
    the end: copying them would multiply the pseudo-labeling cost without
    adding a label.

    Parameters
    ----------
    augmenter : ImageAugmenter or None, default=None
        The augmentations and their magnitudes; None uses
        ``ImageAugmenter()`` (45°, 1–4 rows, noise std 1).

    n_copies : int, default=10
        Copies per labeled image and enabled augmentation.

    keep_original : bool, default=True
        Keep the original labeled images in the output.

    random_state : int, RandomState instance or None, default=None
        Seeds the augmentations (the augmenter's own ``random_state`` is not
        used here).

    Attributes
    ----------
    n_features_in_ : int
        Number of features of ``X`` in the last ``fit_resample``.

    See Also
    --------
    ImageAugmenter : The augmentations, as a transformer.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_pseudolabel import AugmentationSampler
    >>> X = np.random.RandomState(0).rand(6, 8, 8)
    >>> y = np.array([0, 1, 0, 1, -1, -1])
    >>> sampler = AugmentationSampler(n_copies=2, random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> X_res.shape, np.bincount(y_res + 1)
    ((30, 8, 8), array([ 2, 14, 14]))
    """

    _parameter_constraints = {
        "augmenter": [ImageAugmenter, None],
        "n_copies": [Interval(Integral, 0, None, closed="left")],
        "keep_original": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self, augmenter=None, *, n_copies=10, keep_original=True, random_state=None
    ):
        self.augmenter = augmenter
        self.n_copies = n_copies
        self.keep_original = keep_original
        self.random_state = random_state

    def fit(self, X, y):
        """Check the input; equivalent to ``fit_resample`` without the output.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, H, W) \
                or (n_samples, C, H, W)
            Images.

        y : array-like of shape (n_samples,)
            Labels, -1 for unlabeled rows.

        Returns
        -------
        self : AugmentationSampler
            This sampler.
        """
        self.fit_resample(X, y)
        return self

    def fit_resample(self, X, y):
        """Return the images and labels with augmented labeled copies added.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, H, W) \
                or (n_samples, C, H, W)
            Images.

        y : array-like of shape (n_samples,)
            Labels, -1 for unlabeled rows.

        Returns
        -------
        X_resampled : ndarray
            Original labeled rows (if ``keep_original``), then the copies of
            each enabled augmentation in turn, then the unlabeled rows; the
            layout and dtype of ``X``.

        y_resampled : ndarray of shape (n_samples_new,)
            The matching labels.
        """
        self._validate_params()
        augmenter = ImageAugmenter() if self.augmenter is None else self.augmenter
        augmenter = clone(augmenter)
        y = column_or_1d(y, warn=True)
        X_flat, shape, out_shape = augmenter._check_images(X, reset=True)
        check_consistent_length(X_flat, y)
        self.n_features_in_ = X_flat.shape[1]

        unlabeled = unlabeled_mask(y)
        X_lab, y_lab = X_flat[~unlabeled], y[~unlabeled]
        rng = check_random_state(self.random_state)
        X_parts = [X_lab] if self.keep_original else []
        y_parts = [y_lab] if self.keep_original else []
        tiled = np.tile(X_lab, (self.n_copies, 1))
        for method, magnitude in _METHODS.items():
            if getattr(augmenter, magnitude) == 0 or not len(tiled):
                continue
            only = {m: m == method for m in _METHODS}
            X_parts.append(
                augmenter._augment_array(tiled, shape, tiled.shape, rng, **only)
            )
            y_parts.append(np.tile(y_lab, self.n_copies))
        X_parts.append(X_flat[unlabeled])
        y_parts.append(y[unlabeled])
        X_res = np.concatenate(X_parts)
        return X_res.reshape(len(X_res), *out_shape[1:]), np.concatenate(y_parts)
