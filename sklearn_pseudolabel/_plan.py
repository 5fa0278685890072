"""The plan of a fit: every automatic setting, resolved once from the data.

:func:`resolve_plan` turns the estimator's hyperparameters and what ``fit``
learned of the data (image shape, pixel range, labeled and unlabeled counts,
device) into a frozen :class:`FitPlan`. The stages of ``fit`` read the plan;
none of them decides an ``"auto"`` value again, and the estimator shows the
plan as fitted attributes (``max_epochs_``, ``T1_``, ...).
"""

import math
import warnings
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import torch
from sklearn.utils import check_random_state

from ._batches import steps_per_epoch
from ._distort import WEAK_DISTORTION, RandomDistortion
from ._distributed import world
from ._test_time import AffineViews

__all__ = ["FitPlan", "inference_batch_size", "resolve_plan", "resolve_precision"]

#: max_epochs="auto": Pseudo-Label epochs without students, and with them
#: (the students take over part of the budget) ...
_AUTO_EPOCHS = 60
_AUTO_EPOCHS_WITH_STUDENT = 45
#: ... and at least this many optimizer steps, so that a small data set,
#: whose epochs are a few steps, still trains.
_AUTO_STEPS = 1500
#: student_epochs="auto": epochs of a student of the network's width, and of
#: the wide students of student_channels="auto" (about the same cost) ...
_AUTO_STUDENT_EPOCHS = 20
_AUTO_WIDE_STUDENT_EPOCHS = 10
#: ... trained only with at least this many unlabeled rows: a student learns
#: from the teacher's labels of the unlabeled rows, and a small pool gives it
#: too few to be worth a fresh network.
_AUTO_STUDENT_MIN_UNLABELED = 10_000
#: student_rounds="auto": each student learns the labels of the one before.
_AUTO_STUDENT_ROUNDS = 2
#: T2=None: the weight ramps up over this share of the run, from T1 on.
_AUTO_RAMP = 0.1
#: augmenter="auto": the share of labeled images that get a random stroke.
_AUTO_STROKES = 0.5
#: unlabeled_view_start="auto": the share of the run before the unlabeled view.
_AUTO_VIEW_START = 0.5

#: Images per inference batch (refreshes, transduction, validation,
#: predictions), by device type: a GPU takes large batches; on a CPU, batches
#: whose activations outgrow the caches run slower.
_INFERENCE_BATCH_SIZES = {"cpu": 128}
_INFERENCE_BATCH_SIZE = 1024

#: Seeds are drawn in [0, _SEED_BOUND).
_SEED_BOUND = 2**31 - 1


@dataclass(frozen=True)
class FitPlan:
    """Every concrete choice of one fit, ``"auto"`` resolved.

    Attributes
    ----------
    max_epochs, T1, T2 : int
        Pseudo-Label epochs and the α ramp, in epochs.

    steps_per_epoch : int
        Optimizer steps of a Pseudo-Label epoch.

    student_rounds, student_epochs : int
        Students trained one after the other, and epochs of each; both 0
        without a student.

    student_channels : tuple of int or None
        Convolution channels of the students; None for the Pseudo-Label
        network's architecture (or without a student).

    augmenter, augmenter_unlabeled : object or None
        The on-the-fly views of the labeled and the unlabeled images.

    unlabeled_view_start : int
        First Pseudo-Label epoch in which the unlabeled images are seen
        through ``augmenter_unlabeled``.

    test_time_views : AffineViews or None
        The fixed warps that predictions average, or None.

    precision : {"float32", "bfloat16"}
        Precision of the forward passes.

    inference_batch_size : int
        Images per batch of the passes that only predict.

    seed : int
        Seed of the Pseudo-Label network; student ``k`` takes
        :meth:`student_seed` ``(k)``.

    rank, world_size : int
        This process and the number of processes of a data-parallel fit
        (0 and 1 in one process).
    """

    max_epochs: int
    T1: int
    T2: int
    steps_per_epoch: int
    student_rounds: int
    student_epochs: int
    student_channels: tuple | None
    augmenter: object
    augmenter_unlabeled: object
    unlabeled_view_start: int
    test_time_views: AffineViews | None
    precision: str
    inference_batch_size: int
    seed: int
    rank: int = 0
    world_size: int = 1

    def student_seed(self, round_):
        """Return the seed of student ``round_`` (0-based)."""
        return (self.seed + 1 + round_) % _SEED_BOUND

    @property
    def total_epochs(self):
        """Return the epochs of every stage together."""
        return self.max_epochs + self.student_rounds * self.student_epochs

    def fitted_attributes(self):
        """Return the values the estimator shows, by attribute name (no ``_``)."""
        return dict(
            max_epochs=self.max_epochs,
            T1=self.T1,
            T2=self.T2,
            student_rounds=self.student_rounds,
            student_epochs=self.student_epochs,
            student_channels=self.student_channels,
            augmenter=self.augmenter,
            augmenter_unlabeled=self.augmenter_unlabeled,
            unlabeled_view_start=self.unlabeled_view_start,
            test_time_augmentation=self.test_time_views is not None,
            precision=self.precision,
            inference_batch_size=self.inference_batch_size,
        )


def resolve_plan(estimator, X, image_shape, n_labeled, n_unlabeled):
    """Return the :class:`FitPlan` of ``estimator`` for validated images ``X``.

    Parameters
    ----------
    estimator : PseudoLabelCNNClassifier
        Its hyperparameters are read, never changed; its ``random_state`` is
        drawn from once (the seed).

    X : ndarray of shape (n_samples, n_features)
        The validated training rows: their pixel range sets the augmenters'.

    image_shape : tuple of int
        ``(C, H, W)`` of one image.

    n_labeled, n_unlabeled : int
        Labeled and unlabeled training rows.
    """
    value_range = _warpable_range(X, image_shape)
    rank, world_size = world()
    student_epochs = _student_epochs(estimator, n_labeled + n_unlabeled, n_unlabeled)
    steps = steps_per_epoch(
        n_labeled, n_unlabeled, estimator.batch_size, estimator.batch_size_unlabeled
    )
    max_epochs = estimator.max_epochs
    if max_epochs == "auto":
        epochs = _AUTO_EPOCHS_WITH_STUDENT if student_epochs else _AUTO_EPOCHS
        max_epochs = max(epochs, math.ceil(_AUTO_STEPS / steps))
    T1 = _epochs(estimator.T1, max_epochs)
    if estimator.T2 is None:
        T2 = T1 + round(_AUTO_RAMP * max_epochs)
    else:
        T2 = _epochs(estimator.T2, max_epochs)
    if T2 < T1:
        raise ValueError(
            f"T2 must be >= T1; got T1={estimator.T1!r}, T2={estimator.T2!r}, "
            f"which are epochs {T1} and {T2} of max_epochs={max_epochs}."
        )
    if n_unlabeled and estimator.alpha_f > 0 and T1 >= max_epochs:
        warnings.warn(
            f"T1={estimator.T1!r} is epoch {T1} >= max_epochs={max_epochs}: "
            "pseudo-labels are never used. Lower T1 and T2 (a float is a "
            "fraction of the run) or raise max_epochs.",
            UserWarning,
        )
    augmenter_unlabeled = _augmenter(estimator.augmenter_unlabeled, value_range)
    view_start = _view_start(estimator, augmenter_unlabeled, max_epochs)
    # Students learn pseudo-labels: none if those never started.
    rounds = _student_rounds(estimator) if student_epochs and T1 < max_epochs else 0
    return FitPlan(
        max_epochs=max_epochs,
        T1=T1,
        T2=T2,
        steps_per_epoch=steps,
        student_rounds=rounds,
        student_epochs=student_epochs if rounds else 0,
        student_channels=_student_channels(estimator) if rounds else None,
        augmenter=_augmenter(estimator.augmenter, value_range, _AUTO_STROKES),
        augmenter_unlabeled=augmenter_unlabeled,
        unlabeled_view_start=view_start,
        test_time_views=_test_time_views(estimator, value_range),
        precision=resolve_precision(estimator.precision, estimator.device),
        inference_batch_size=inference_batch_size(estimator.device),
        seed=int(check_random_state(estimator.random_state).randint(_SEED_BOUND)),
        rank=rank,
        world_size=world_size,
    )


def _epochs(value, max_epochs):
    """Return the epoch of ``T1``, ``T2`` or ``unlabeled_view_start``.

    An int as is, a float as a fraction of ``max_epochs``.
    """
    if isinstance(value, Integral):
        return int(value)
    return round(value * max_epochs)


def _view_start(estimator, augmenter_unlabeled, max_epochs):
    """``unlabeled_view_start`` as an epoch, "auto" resolved."""
    value = estimator.unlabeled_view_start
    epoch = _epochs(_AUTO_VIEW_START if value == "auto" else value, max_epochs)
    if augmenter_unlabeled is not None and epoch >= max_epochs:
        warnings.warn(
            f"unlabeled_view_start={value!r} is epoch {epoch} >= "
            f"max_epochs={max_epochs}: augmenter_unlabeled is never used. "
            "Lower unlabeled_view_start (a float is a fraction of the run) or "
            "set augmenter_unlabeled=None.",
            UserWarning,
        )
    return epoch


def _student_epochs(estimator, n_rows, n_unlabeled):
    """``student_epochs``, "auto" resolved for ``n_rows`` training rows.

    0 without unlabeled rows or pseudo-labels (``alpha_f=0``): a student
    learns pseudo-labels.
    """
    if not n_unlabeled or estimator.alpha_f == 0:
        return 0
    if estimator.student_epochs != "auto":
        return estimator.student_epochs
    if n_unlabeled < _AUTO_STUDENT_MIN_UNLABELED:
        return 0
    # A student trains on every row as labeled: one stream sets its epoch.
    steps = steps_per_epoch(
        n_rows, 0, estimator.batch_size, estimator.batch_size_unlabeled
    )
    wide = (
        estimator.student_channels == "auto"
        and _student_channels(estimator) is not None
    )
    epochs = _AUTO_WIDE_STUDENT_EPOCHS if wide else _AUTO_STUDENT_EPOCHS
    return max(epochs, math.ceil(_AUTO_STEPS / steps))


def _student_channels(estimator):
    """``student_channels``, "auto" resolved.

    ``"auto"``: twice ``channels`` with the default DropoutCNN; None (the user
    module's network) with a user module.
    """
    if estimator.student_channels != "auto":
        channels = estimator.student_channels
        return None if channels is None else tuple(channels)
    if estimator.module is not None:
        return None
    return tuple(2 * c for c in estimator.channels)


def _student_rounds(estimator):
    """``student_rounds``, "auto" resolved."""
    if estimator.student_rounds == "auto":
        return _AUTO_STUDENT_ROUNDS
    return estimator.student_rounds


def _warpable_range(X, image_shape):
    """Pixel range ``(low, high)`` of images ``X`` (uint8 scaled), or None.

    None for rows of features (images one pixel high or wide) and blank
    images: nothing to warp.
    """
    if not len(X):
        low, high = 0.0, 0.0
    elif hasattr(X, "pixel_range"):  # images on disk, read in chunks
        low, high = (float(v) for v in X.pixel_range())
    else:
        low, high = float(X.min()), float(X.max())
    if getattr(X, "file_dtype", X.dtype) == np.uint8:
        low, high = low / 255, high / 255
    if min(image_shape[1:]) < 2 or not low < high:
        return None
    return low, high


def _augmenter(augmenter, value_range, stroke_probability=0.0):
    """Return ``augmenter``, ``"auto"`` resolved for images in ``value_range``.

    ``"auto"`` is the weak :class:`RandomDistortion` in that range, drawing
    strokes on ``stroke_probability`` of the images; None for images that
    cannot be warped (``value_range`` None).
    """
    if not isinstance(augmenter, str):
        return augmenter
    if value_range is None:
        return None
    return RandomDistortion(
        **WEAK_DISTORTION,
        stroke_probability=stroke_probability,
        value_range=value_range,
    )


def _test_time_views(estimator, value_range):
    """Return the :class:`AffineViews` that predict, or None.

    ``"auto"``: on with ``augmenter="auto"``, whose weak view the network
    learned to be invariant to.
    """
    on = estimator.test_time_augmentation
    if on == "auto":
        on = estimator.augmenter == "auto"
    if not on or value_range is None:
        return None
    return AffineViews(value_range=value_range)


def inference_batch_size(device):
    """Return the number of images per inference batch on ``device``."""
    return _INFERENCE_BATCH_SIZES.get(torch.device(device).type, _INFERENCE_BATCH_SIZE)


def resolve_precision(precision, device):
    """Return ``precision``, ``"auto"`` resolved for ``device``.

    ``"auto"`` is ``"bfloat16"`` on a CPU with Intel AMX tile units, which
    run bfloat16 matrix products natively, and ``"float32"`` elsewhere: on
    CPUs whose bfloat16 instructions are AVX512-BF16 only, bfloat16 is faster
    too but its accuracy against float32 is not settled (the ablation block
    of ``docs/benchmarks.md``), and the small networks here leave a GPU bound
    by kernel launches, not arithmetic.

    Examples
    --------
    >>> from sklearn_pseudolabel._plan import resolve_precision
    >>> resolve_precision("float32", "cpu")
    'float32'
    >>> resolve_precision("auto", "cpu") in {"float32", "bfloat16"}
    True
    """
    if precision != "auto":
        return precision
    if torch.device(device).type == "cpu" and _cpu_has_amx():
        return "bfloat16"
    return "float32"


def _cpu_has_amx():
    """Whether this CPU has Intel AMX tile units (torch's own probe)."""
    # A private function of torch.cpu (torch >= 2.3); without it, no.
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool(probe is not None and probe())
