"""ImageAugmenter: batched random rotation, vertical shift and ink noise."""

import warnings
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_feature_names_in, validate_data

from ._validation import IMAGE_DTYPES, flatten_images, resolve_image_shape

__all__ = ["ImageAugmenter", "rotate", "shift_rows", "add_ink_noise"]

#: Images per chunk in ``transform``: small enough that a chunk's float
#: tensors stay in the CPU's cache between the steps (1,024 MNIST images are
#: 3 MiB of float32), and a bound on the memory of the float copy.
_CHUNK = 1024


def affine_grid(theta, shape):
    """``F.affine_grid(theta, shape, align_corners=False)``, computed faster.

    torch materialises a base grid per image and multiplies in a batched
    ``bmm``; here one base grid ``(1, H·W, 3)`` is shared by the batch in a
    broadcast ``matmul``.

    Parameters
    ----------
    theta : torch.Tensor of shape (N, 2, 3)
        Per image, the map from output to input positions in ``[-1, 1]``
        coordinates (x right, y down), pixel centres at ``(2k + 1) / size - 1``.

    shape : sequence of int
        ``(N, C, H, W)`` of the output.

    Returns
    -------
    grid : torch.Tensor of shape (N, H, W, 2)
        Input positions for ``F.grid_sample(..., align_corners=False)``.
    """
    n, _, height, width = shape
    options = dict(device=theta.device, dtype=theta.dtype)
    xs = (torch.arange(width, **options) * 2 + 1) / width - 1
    ys = (torch.arange(height, **options) * 2 + 1) / height - 1
    base = torch.stack(
        [xs.expand(height, width), ys[:, None].expand(height, width)], dim=-1
    )
    base = torch.cat([base, torch.ones(height, width, 1, **options)], dim=-1)
    grid = torch.matmul(base.reshape(1, height * width, 3), theta.transpose(1, 2))
    return grid.reshape(n, height, width, 2)


def rotate(X, degrees, background=0.0, rows=None):
    """Rotate each image of a batch about its centre, counter-clockwise.

    Parameters
    ----------
    X : torch.Tensor of shape (N, C, H, W)
        Floating-point images.

    degrees : torch.Tensor of shape (N,)
        Angle per image; positive turns the picture counter-clockwise, as
        :func:`numpy.rot90`.

    background : float, default=0.0
        Value of the pixels that enter from outside the image.

    rows : torch.Tensor of shape (N,) or None, default=None
        Vertical shift after the rotation, in rows (positive moves the picture
        down), folded into the same sampling grid: one interpolation for both.

    Returns
    -------
    X_rotated : torch.Tensor of shape (N, C, H, W)
        Bilinear interpolation; a multiple of 90° on a square image, and a
        whole-row shift alone, are exact (up to float rounding).
    """
    _, _, height, width = X.shape
    theta = torch.deg2rad(degrees.to(X.dtype))
    cos, sin = torch.cos(theta), torch.sin(theta)
    # Output -> input positions in [-1, 1] coordinates; the aspect factors keep
    # the rotation rigid on non-square images.
    a, b = cos, -sin * height / width
    c, d = sin * width / height, cos
    tx = ty = torch.zeros_like(cos)
    if rows is not None:
        # Shifting the rotated picture by dy samples it at A(p - dy): -A dy.
        dy = rows.to(X.dtype) * (2 / height)
        tx, ty = -b * dy, -d * dy
    affine = torch.stack(
        [torch.stack([a, b, tx], dim=1), torch.stack([c, d, ty], dim=1)], dim=1
    )
    grid = affine_grid(affine, X.shape)
    # grid_sample pads with zeros: shift the background to 0 when it is not.
    if background:
        X = X - background
    out = F.grid_sample(
        X, grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )
    return out.add_(background) if background else out


def shift_rows(X, rows, background=0.0):
    """Shift each image of a batch vertically by a whole number of rows.

    Parameters
    ----------
    X : torch.Tensor of shape (N, C, H, W)
        Images.

    rows : torch.Tensor of int of shape (N,)
        Shift per image: positive moves the picture down, negative up.

    background : float, default=0.0
        Value of the rows that enter from outside the image.

    Returns
    -------
    X_shifted : torch.Tensor of shape (N, C, H, W)
        Exact: pixel values are moved, not interpolated.
    """
    n, channels, height, width = X.shape
    source = torch.arange(height, device=X.device)[None, :] - rows[:, None]
    inside = (source >= 0) & (source < height)
    index = source.clamp(0, height - 1)[:, None, :, None].expand(n, channels, -1, width)
    return X.gather(2, index).masked_fill_(~inside[:, None, :, None], background)


def add_ink_noise(X, std, generator, low=0.0, high=1.0):
    """Add Gaussian noise to the non-background pixels, then clip.

    Parameters
    ----------
    X : torch.Tensor of shape (N, C, H, W)
        Floating-point images.

    std : float
        Standard deviation of the noise, in the units of ``X``.

    generator : torch.Generator
        Source of the noise, on ``X``'s device.

    low, high : float, default=0.0, 1.0
        Valid pixel range; ``low`` is the background, which stays untouched.

    Returns
    -------
    X_noisy : torch.Tensor of shape (N, C, H, W)
    """
    noise = torch.randn(X.shape, generator=generator, device=X.device, dtype=X.dtype)
    # In place: noise becomes the noisy image, background pixels reset to low.
    return noise.mul_(std).add_(X).clamp_(low, high).masked_fill_(X == low, low)


class _BaseAugmenter(TransformerMixin, BaseEstimator):
    """Shared plumbing of the batched augmenters: validation, chunks, tags.

    A subclass defines ``_augment(X, generator, low, high)`` on a float tensor
    batch ``(N, C, H, W)`` and its own parameters, which must include
    ``value_range``, ``image_shape``, ``device`` and ``random_state``.
    """

    def fit(self, X, y=None):
        """Check the parameters and ``X``; nothing is learned.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, H, W) \
                or (n_samples, C, H, W)
            Images.

        y : None
            Ignored.

        Returns
        -------
        self : object
            This transformer.
        """
        self._validate_params()
        self._check_images(X, reset=True)
        return self

    def transform(self, X):
        """Return one randomly augmented version of each image.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, H, W) \
                or (n_samples, C, H, W)
            Images.

        Returns
        -------
        X_augmented : ndarray of the shape and dtype of ``X``
            Augmented images, in the value range of ``X``.
        """
        self._validate_params()
        X, shape, out_shape = self._check_images(X, reset=False)
        return self._augment_array(X, shape, out_shape, self.random_state)

    def _augment_array(self, X, shape, out_shape, random_state, **enabled):
        """Augment validated 2-D rows chunk by chunk; return ``out_shape``."""
        low, high = self._value_range(X.dtype)
        seed = int(check_random_state(random_state).randint(2**31 - 1))
        generator = torch.Generator(self.device).manual_seed(seed)
        dtype = torch.float64 if X.dtype == np.float64 else torch.float32
        out = np.empty_like(X)
        for start in range(0, len(X), _CHUNK):
            chunk = np.ascontiguousarray(X[start : start + _CHUNK])
            batch = torch.tensor(chunk, device=self.device)
            batch = batch.to(dtype).reshape(-1, *shape)
            batch = self._augment(batch, generator, low, high, **enabled)
            if X.dtype == np.uint8:
                # Cast by torch (vectorised, in range after clipping), not numpy.
                batch = batch.round_().to(torch.uint8)
            out[start : start + _CHUNK] = batch.reshape(len(batch), -1).cpu().numpy()
        return out.reshape(out_shape)

    def augment_tensor(self, X, generator=None):
        """Augment a float tensor batch ``(N, C, H, W)`` on its own device.

        The hook :class:`PseudoLabelCNNClassifier` calls on every training
        batch. Pixels are taken in ``value_range`` (default ``(0, 1)``, the
        classifier's scale for ``uint8`` input).

        Parameters
        ----------
        X : torch.Tensor of shape (N, C, H, W)
            Floating-point images.

        generator : torch.Generator or None, default=None
            Source of randomness, on ``X``'s device; None uses torch's global
            generator.

        Returns
        -------
        X_augmented : torch.Tensor of shape (N, C, H, W)
        """
        low, high = self._value_range(np.float32)
        return self._augment(X, generator, low, high)

    def _value_range(self, dtype):
        if self.value_range is not None:
            low, high = (float(v) for v in self.value_range)
            if not low < high:
                raise ValueError(
                    f"value_range must be (low, high) with low < high; got "
                    f"{self.value_range!r}."
                )
            return low, high
        return (0.0, 255.0) if dtype == np.uint8 else (0.0, 1.0)

    def _check_images(self, X, reset):
        """Validate ``X``; return 2-D rows, the image shape and the output shape."""
        X_flat, array_shape = flatten_images(X)
        if reset or hasattr(self, "n_features_in_"):
            X_flat = validate_data(self, X_flat, reset=reset, dtype=IMAGE_DTYPES)
        else:
            # Stateless: transform without fit checks the array alone, as
            # FunctionTransformer does (no feature names to compare).
            X_flat = check_array(X_flat, dtype=IMAGE_DTYPES, input_name="X")
        shape = resolve_image_shape(X_flat.shape[1], self.image_shape, array_shape)
        if shape[1] == 1 and shape[2] > 1 and self.image_shape is None:
            warnings.warn(
                f"X has {X_flat.shape[1]} features, not a square number: each "
                f"row is taken as an image of one row of {shape[2]} pixels, "
                "which rotations and shifts mostly move out of the picture. "
                "Pass image_shape=(height, width) or (n, H, W) arrays.",
                UserWarning,
            )
        self._check_magnitudes(shape)
        # The output keeps the input's layout: flat rows or image arrays.
        out_shape = X_flat.shape if array_shape is None else np.shape(X)
        low, high = self._value_range(X_flat.dtype)
        if X_flat.size and (X_flat.min() < low or X_flat.max() > high):
            raise ValueError(
                f"X has values in [{X_flat.min()}, {X_flat.max()}], outside "
                f"value_range ({low:g}, {high:g}); set value_range to the pixel "
                "range of X."
            )
        return X_flat, shape, out_shape

    def _check_magnitudes(self, shape):
        """Warn about magnitudes that blank images of ``shape``; a hook."""

    def get_feature_names_out(self, input_features=None):
        """Get the output feature names: the input's, pixel for pixel.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names; None takes ``feature_names_in_`` if ``fit``
            saw names, else ``x0``, ``x1``, ...

        Returns
        -------
        feature_names_out : ndarray of str objects
            The input feature names: an augmenter moves pixel values, never
            the meaning of a column.
        """
        return _check_feature_names_in(self, input_features)

    def __sklearn_is_fitted__(self):
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.non_deterministic = self.random_state is None
        return tags


class ImageAugmenter(_BaseAugmenter):
    """Random rotation, vertical shift or ink noise, one draw per image.

    The three augmentations of the reference MNIST experiment, as batched
    tensor operations (at most one ``grid_sample``, one ``gather`` and one
    ``randn`` per chunk of images, on CPU or GPU): no Python loop over
    samples. By default each image gets one of them (``combine="one"``):

    - **rotation**: angle uniform in ``[-max_rotation, max_rotation]`` degrees,
      bilinear, background fill;
    - **vertical shift**: up or down (equally likely) by a whole number of
      rows uniform in ``1..max_shift``, background fill;
    - **noise**: Gaussian with standard deviation ``noise_std`` × the pixel
      range, added only to pixels that differ from the background (the ink),
      then clipped to the pixel range.

    A magnitude of 0 switches the augmentation off; with all three at 0 the
    transformer is the identity. Stateless: ``fit`` only checks the input.

    In a scikit-learn :class:`~sklearn.pipeline.Pipeline` a transformer also
    runs at predict time, so ``ImageAugmenter`` would perturb test images
    too: to augment training data only, use :class:`AugmentationSampler` (static
    expansion, in an imbalanced-learn pipeline) or the ``augmenter``
    parameter of :class:`PseudoLabelCNNClassifier` (on the fly).

    Parameters
    ----------
    max_rotation : float, default=45.0
        Largest rotation in degrees; 0 disables rotation.

    max_shift : int, default=4
        Largest vertical shift in rows; 0 disables shifting.

    noise_std : float, default=1.0
        Noise standard deviation as a fraction of the pixel range
        (``value_range[1] - value_range[0]``); 0 disables noise. The reference
        experiment states "std 1" without a scale; on 0–255 pixels that is
        0.4 % of the range and invisible, so it is read on the [0, 1] scale,
        where, after clipping, it randomly thins and erases strokes.

    value_range : tuple of float or None, default=None
        ``(background, maximum)`` pixel values. None: ``(0, 255)`` for
        ``uint8`` input, ``(0, 1)`` otherwise. Input outside the range is an
        error.

    image_shape : tuple of int or None, default=None
        ``(H, W)`` or ``(C, H, W)`` of flat 2-D input; None infers a square grey
        image (same rule as :class:`PseudoLabelCNNClassifier`). 3-D and 4-D
        input carry their shape.

    device : str, default="cpu"
        Torch device that does the work in ``transform``.

    combine : {"one", "all"}, default="one"
        ``"one"``: each image gets one of the enabled augmentations: the batch
        is split at random into equal shares, one per method, as in the
        reference experiment (whose expanded set holds 30,000 images per
        method, like :class:`AugmentationSampler`).
        ``"all"``: each image goes through every enabled augmentation in turn
        (rotation, then shift, then noise), a much stronger perturbation.

    random_state : int, RandomState instance or None, default=None
        Seeds the draws of ``transform``: the same value gives the same output.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen by ``fit`` (when it was called).

    See Also
    --------
    AugmentationSampler : Static expansion of the labeled set (``fit_resample``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_pseudolabel import ImageAugmenter
    >>> X = np.zeros((2, 28, 28), dtype=np.uint8)
    >>> X[:, 10:18, 12:16] = 255
    >>> X_aug = ImageAugmenter(random_state=0).transform(X)
    >>> X_aug.shape, X_aug.dtype
    ((2, 28, 28), dtype('uint8'))
    >>> bool((X_aug != X).any())
    True
    """

    _parameter_constraints = {
        "max_rotation": [Interval(Real, 0, 180, closed="both")],
        "max_shift": [Interval(Integral, 0, None, closed="left")],
        "noise_std": [Interval(Real, 0, None, closed="left")],
        "value_range": [tuple, list, None],
        "image_shape": [tuple, list, None],
        "device": [str, torch.device],
        "combine": [StrOptions({"one", "all"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        max_rotation=45.0,
        max_shift=4,
        noise_std=1.0,
        value_range=None,
        image_shape=None,
        device="cpu",
        combine="one",
        random_state=None,
    ):
        self.max_rotation = max_rotation
        self.max_shift = max_shift
        self.noise_std = noise_std
        self.value_range = value_range
        self.image_shape = image_shape
        self.device = device
        self.combine = combine
        self.random_state = random_state

    def _check_magnitudes(self, shape):
        if self.max_shift >= shape[1] > 1:
            warnings.warn(
                f"max_shift={self.max_shift} is at least the image height "
                f"{shape[1]}: images shifted that far are entirely background.",
                UserWarning,
            )

    def _augment(self, X, generator, low, high, rotation=True, shift=True, noise=True):
        device = X.device

        def _angles(n):
            u = torch.rand(n, generator=generator, device=device, dtype=X.dtype)
            return (2 * u - 1) * self.max_rotation

        def _rows(n):
            size = torch.randint(
                1, self.max_shift + 1, (n,), generator=generator, device=device
            )
            sign = torch.randint(0, 2, (n,), generator=generator, device=device)
            return size * (2 * sign - 1)

        def _rotate(X, rows=None):
            X = rotate(X, _angles(len(X)), background=low, rows=rows)
            return X.clamp_(low, high)  # float rounding only: bilinear stays in range

        def _shift(X):
            return shift_rows(X, _rows(len(X)), background=low)

        def _rotate_and_shift(X):
            return _rotate(X, rows=_rows(len(X)))

        def _noise(X):
            return add_ink_noise(X, self.noise_std * (high - low), generator, low, high)

        methods = [
            method
            for method, on in [
                (_rotate, rotation and self.max_rotation > 0),
                (_shift, shift and self.max_shift > 0),
                (_noise, noise and self.noise_std > 0),
            ]
            if on
        ]
        if self.combine == "all" or len(methods) < 2:
            if _rotate in methods and _shift in methods:
                # Both through one sampling grid: one interpolation, no gather.
                methods = [_rotate_and_shift] + [
                    m for m in methods if m not in (_rotate, _shift)
                ]
            for method in methods:
                X = method(X)
            return X
        # A random split into equal shares, one per method: the share sizes are
        # known on the host, so no device sync (unlike selecting by a mask).
        shares = torch.randperm(len(X), generator=generator, device=device)
        out = X.clone()
        for method, rows in zip(methods, shares.tensor_split(len(methods))):
            if len(rows):
                out[rows] = method(X[rows])
        return out
