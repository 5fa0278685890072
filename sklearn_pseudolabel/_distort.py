"""RandomDistortion: batched random affine, elastic distortion, strokes and erasing."""

from numbers import Real

import torch
import torch.nn.functional as F
from sklearn.utils._param_validation import Interval

from ._augment import _BaseAugmenter, affine_grid

__all__ = ["RandomDistortion", "WEAK_DISTORTION"]

#: A weak view: small rotations, zooms and shifts, no elastic warp or erasing
#: (the classifier's ``augmenter="auto"``).
WEAK_DISTORTION = dict(
    max_rotation=10.0,
    max_shear=0.0,
    max_scale=0.1,
    max_translation=0.1,
    elastic_alpha=0.0,
    erase_size=0.0,
)


#: Where a random stroke goes, as fractions of the image side: its centre's
#: row in [0.3, 0.7] of the height and column in [0.3, 0.7] of the width, its
#: length in [0.2, 0.5] of the width, its thickness 1/14 of the height (two
#: rows of a 28-pixel image) and at least one row.
_STROKE_CENTRE = (0.3, 0.7)
_STROKE_LENGTH = (0.2, 0.5)
_STROKE_THICKNESS = 1 / 14


def _uniform(n, low, high, generator, like):
    u = torch.rand(n, generator=generator, device=like.device, dtype=like.dtype)
    return low + (high - low) * u


def affine_theta(angle, shear, scale, shift, height, width):
    """Matrices ``(N, 2, 3)`` of :func:`affine_grid` for ``(N,)`` parameters.

    ``angle`` (radians) rotates, ``shear`` (its tangent) shears along x and
    ``scale`` zooms (above 1 the content grows) about the centre;
    ``shift`` ``(N, 2)`` then moves the content by (x, y) in ``[-1, 1]``
    coordinates (2 is the image side).
    """
    cos, sin = torch.cos(angle), torch.sin(angle)
    # Input position of each output pixel, in pixel units: rotate, then
    # shear along x, then shrink by the scale (content grows).
    m00, m01 = cos / scale, (cos * shear - sin) / scale
    m10, m11 = sin / scale, (sin * shear + cos) / scale
    # To affine_grid's [-1, 1] coordinates: rescale the off-diagonal terms
    # by the aspect ratio so that the map stays rigid on non-square images.
    return torch.stack(
        [
            torch.stack([m00, m01 * height / width, shift[:, 0]], dim=1),
            torch.stack([m10 * width / height, m11, shift[:, 1]], dim=1),
        ],
        dim=1,
    )


def warp(X, grid, low, high):
    """Sample ``X`` at ``grid`` (bilinear); outside is ``low``; clamp to the range."""
    # grid_sample pads with zeros: shift the background to 0 first.
    X = F.grid_sample(
        X - low if low else X,
        grid,
        mode="bilinear",
        padding_mode="zeros",
        align_corners=False,
    )
    return (X.add_(low) if low else X).clamp_(low, high)


def _rectangles(X, centre, size):
    """Masks ``(N, H, W)`` of one axis-aligned rectangle per image of ``X``.

    ``centre`` and ``size`` are ``(N, 2)``: (row, column) and (height, width)
    as fractions of the image side; a pixel is inside when its centre is.
    """
    _, _, height, width = X.shape
    rows = (torch.arange(height, device=X.device, dtype=X.dtype) + 0.5) / height
    cols = (torch.arange(width, device=X.device, dtype=X.dtype) + 0.5) / width
    inside_rows = (rows[None] - centre[:, :1]).abs() < size[:, :1] / 2
    inside_cols = (cols[None] - centre[:, 1:]).abs() < size[:, 1:] / 2
    return inside_rows[:, :, None] & inside_cols[:, None, :]


def _blur_matrix(size, sigma, device, dtype):
    """Matrix ``M`` such that ``x @ M`` blurs the rows ``x`` of length ``size``.

    The kernel and reflection padding of torchvision's ``gaussian_blur``
    (±3 sigma, cut to what reflection allows): blurring is linear, so ``M``
    is the identity blurred once.
    """
    eye = torch.eye(size, device=device, dtype=dtype)
    radius = min(int(3 * sigma), (size - 1) // 2)
    if radius < 1:
        return eye
    x = torch.arange(-radius, radius + 1, device=device, dtype=dtype)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    padded = F.pad(eye[:, None], (radius, radius), mode="reflect")
    return F.conv1d(padded, (kernel / kernel.sum())[None, None])[:, 0]


def _gaussian_blur(X, sigma):
    """Blur a batch ``(N, C, H, W)`` with a Gaussian of ``sigma`` pixels.

    The same result as torchvision's ``gaussian_blur`` with a ±3 sigma
    kernel, as two small matrix products: a 25x25 kernel applied as a
    convolution costs as much as a training step on CPU.
    """
    _, _, height, width = X.shape
    rows = _blur_matrix(height, sigma, X.device, X.dtype)
    cols = _blur_matrix(width, sigma, X.device, X.dtype)
    return rows.T @ X @ cols


class RandomDistortion(_BaseAugmenter):
    """Random affine warp, elastic distortion, strokes and erasing, one draw per image.

    The perturbations that keep a handwritten character what it is, as one
    batched ``grid_sample`` on CPU or GPU (no Python loop over images):

    - **affine**: rotation uniform in ``±max_rotation`` degrees, shear in
      ``±max_shear`` degrees, scale in ``1 ± max_scale``, translation of up to
      ``max_translation`` × the image side along each axis;
    - **elastic** (Simard et al., 2003): a random displacement field, uniform
      noise smoothed by a Gaussian of ``elastic_sigma`` pixels and multiplied by
      ``elastic_alpha`` pixels, the convention of torchvision's
      ``ElasticTransform``;
    - **stroke**: with probability ``stroke_probability``, a horizontal bar
      of ink through the middle of the image (centre within 0.3–0.7 of each
      side, length 0.2–0.5 of the width, thickness 1/14 of the height): the
      stroke writers add across a 7 or a Z, which a network trained on few
      labels takes for evidence of another digit;
    - **erasing** (Cutout): a rectangle of up to ``erase_size`` × the side,
      at a random place, set to the background.

    Small magnitudes make the *weak* view of FixMatch-style training (e.g.
    only ``max_translation=0.1``), the defaults a *strong* view for digits.
    Pass it as ``augmenter`` or ``augmenter_unlabeled`` of
    :class:`PseudoLabelCNNClassifier`, or use ``transform`` on arrays. A
    magnitude of 0 switches that part off; with all of them 0 the transformer
    is the identity. Stateless: ``fit`` only checks the input.

    Parameters
    ----------
    max_rotation : float, default=20.0
        Largest rotation in degrees.

    max_shear : float, default=15.0
        Largest horizontal shear angle in degrees.

    max_scale : float, default=0.15
        Scale drawn uniformly in ``[1 - max_scale, 1 + max_scale]``.

    max_translation : float, default=0.1
        Largest shift along each axis, as a fraction of the image side.

    elastic_alpha : float, default=34.0
        Strength of the elastic distortion, in pixels; 0 disables it.

    elastic_sigma : float, default=4.0
        Smoothness of the elastic distortion (Gaussian standard deviation, in
        pixels).

    stroke_probability : float, default=0.0
        Probability of drawing a random horizontal stroke on an image (in the
        ink value, the top of ``value_range``); 0 disables strokes.

    erase_size : float, default=0.4
        Largest side of the erased rectangle, as a fraction of the image side
        (each side drawn uniformly in ``[0, erase_size]``); 0 disables erasing.

    value_range : tuple of float or None, default=None
        ``(background, maximum)`` pixel values. None: ``(0, 255)`` for
        ``uint8`` input, ``(0, 1)`` otherwise. Input outside the range is an
        error.

    image_shape : tuple of int or None, default=None
        ``(H, W)`` or ``(C, H, W)`` of flat 2-D input; None infers a square grey
        image. 3-D and 4-D input carry their shape.

    device : str, default="cpu"
        Torch device that does the work in ``transform``.

    random_state : int, RandomState instance or None, default=None
        Seeds the draws of ``transform``.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen by ``fit`` (when it was called).

    See Also
    --------
    ImageAugmenter : The reference experiment's rotation, shift and ink noise.

    References
    ----------
    Simard, P. Y., Steinkraus, D. and Platt, J. C. (2003). Best practices for
    convolutional neural networks applied to visual document analysis. ICDAR.

    DeVries, T. and Taylor, G. W. (2017). Improved regularization of
    convolutional neural networks with cutout. arXiv:1708.04552.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_pseudolabel import RandomDistortion
    >>> X = np.zeros((2, 28, 28), dtype=np.uint8)
    >>> X[:, 6:22, 12:16] = 255
    >>> X_aug = RandomDistortion(random_state=0).transform(X)
    >>> X_aug.shape, X_aug.dtype
    ((2, 28, 28), dtype('uint8'))
    >>> bool((X_aug != X).any())
    True
    """

    _parameter_constraints = {
        "max_rotation": [Interval(Real, 0, 180, closed="both")],
        "max_shear": [Interval(Real, 0, 60, closed="both")],
        "max_scale": [Interval(Real, 0, 1, closed="left")],
        "max_translation": [Interval(Real, 0, 1, closed="both")],
        "elastic_alpha": [Interval(Real, 0, None, closed="left")],
        "elastic_sigma": [Interval(Real, 0, None, closed="neither")],
        "stroke_probability": [Interval(Real, 0, 1, closed="both")],
        "erase_size": [Interval(Real, 0, 1, closed="both")],
        "value_range": [tuple, list, None],
        "image_shape": [tuple, list, None],
        "device": [str, torch.device],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        max_rotation=20.0,
        max_shear=15.0,
        max_scale=0.15,
        max_translation=0.1,
        elastic_alpha=34.0,
        elastic_sigma=4.0,
        stroke_probability=0.0,
        erase_size=0.4,
        value_range=None,
        image_shape=None,
        device="cpu",
        random_state=None,
    ):
        self.max_rotation = max_rotation
        self.max_shear = max_shear
        self.max_scale = max_scale
        self.max_translation = max_translation
        self.elastic_alpha = elastic_alpha
        self.elastic_sigma = elastic_sigma
        self.stroke_probability = stroke_probability
        self.erase_size = erase_size
        self.value_range = value_range
        self.image_shape = image_shape
        self.device = device
        self.random_state = random_state

    def _augment(self, X, generator, low, high):
        affine = any(
            (self.max_rotation, self.max_shear, self.max_scale, self.max_translation)
        )
        grid = self._affine_grid(X, generator) if affine else None
        if self.elastic_alpha > 0:
            if grid is None:
                grid = self._affine_grid(X, generator, identity=True)
            grid = grid + self._elastic_field(X, generator)
        if grid is not None:
            X = warp(X, grid, low, high)
        if self.stroke_probability > 0:
            X = self._stroke(X, generator, high)
        if self.erase_size > 0:
            X = self._erase(X, generator, low)
        return X

    def _affine_grid(self, X, generator, identity=False):
        """Return the sampling grid of one random affine map per image."""
        n, _, height, width = X.shape
        if identity:
            theta = torch.eye(2, 3, device=X.device, dtype=X.dtype).expand(n, 2, 3)
            return affine_grid(theta, X.shape)
        angle = torch.deg2rad(
            _uniform(n, -self.max_rotation, self.max_rotation, generator, X)
        )
        shear = torch.tan(
            torch.deg2rad(_uniform(n, -self.max_shear, self.max_shear, generator, X))
        )
        scale = _uniform(n, 1 - self.max_scale, 1 + self.max_scale, generator, X)
        shift = _uniform(
            2 * n, -2 * self.max_translation, 2 * self.max_translation, generator, X
        ).reshape(n, 2)
        theta = affine_theta(angle, shear, scale, shift, height, width)
        return affine_grid(theta, X.shape)

    def _elastic_field(self, X, generator):
        """Smoothed random displacements ``(N, H, W, 2)`` in grid units."""
        n, _, height, width = X.shape
        noise = torch.rand(
            (n, 2, height, width), generator=generator, device=X.device, dtype=X.dtype
        )
        field = _gaussian_blur(noise.mul_(2).sub_(1), self.elastic_sigma)
        # pixels -> [-1, 1] grid units along x (channel 0) and y (channel 1);
        # host scalars, not a tensor built from a list (a copy to the device).
        field[:, 0].mul_(self.elastic_alpha * 2 / width)
        field[:, 1].mul_(self.elastic_alpha * 2 / height)
        return field.permute(0, 2, 3, 1)

    def _stroke(self, X, generator, ink):
        """Draw a horizontal bar of ``ink`` on each image, with its probability."""
        n, _, height, _ = X.shape
        drawn = _uniform(n, 0, 1, generator, X) < self.stroke_probability
        centre = _uniform(2 * n, *_STROKE_CENTRE, generator, X).reshape(n, 2)
        length = _uniform(n, *_STROKE_LENGTH, generator, X)
        thickness = torch.full_like(length, max(_STROKE_THICKNESS, 1 / height))
        bar = _rectangles(X, centre, torch.stack([thickness, length], dim=1))
        return X.masked_fill((bar & drawn[:, None, None])[:, None], ink)

    def _erase(self, X, generator, background):
        """Set a random rectangle of each image to the background."""
        n = len(X)
        size = _uniform(2 * n, 0, self.erase_size, generator, X).reshape(n, 2)
        centre = _uniform(2 * n, 0, 1, generator, X).reshape(n, 2)
        return X.masked_fill(_rectangles(X, centre, size)[:, None], background)
