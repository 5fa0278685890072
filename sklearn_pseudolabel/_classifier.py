"""PseudoLabelCNNClassifier: scikit-learn semantics around a skorch net.

Design: composition, not a subclass of ``NeuralNetClassifier``. The estimator
is a plain :class:`~sklearn.base.BaseEstimator` with flat, documented
hyperparameters; ``fit`` builds a fresh skorch net (``net_``, a
:class:`~skorch.NeuralNetClassifier` subclass that overrides only skorch's
hooks) and trains it. This is what lets the estimator pass scikit-learn's own
estimator checks, which a skorch subclass cannot:

- skorch's ``classes_`` is ``np.unique(y)`` (it would contain -1) and its
  ``predict`` returns class indices; here ``classes_`` excludes -1, labels of
  any type (strings, objects) are encoded, and ``predict`` returns them;
- skorch's ``__init__`` needs a module, sets attributes beyond its arguments
  and replaces sklearn's parameter validation; here ``__init__`` only stores
  arguments and sklearn's ``_parameter_constraints`` validate them at fit;
- skorch's default ``train_split`` holds out 20 % of the data (it would
  duplicate the outer split of GridSearchCV and leak -1 rows); here every row
  is used for training.

Everything skorch offers stays available: ``callbacks`` pass through, the
trained net is ``net_`` and its history ``history_`` (and a student's,
``student_net_``).
"""

import copy
import inspect
import math
import signal
import threading
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import _safe_indexing, check_random_state, column_or_1d
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    validate_data,
)
from skorch.callbacks import EarlyStopping, LRScheduler
from skorch.helper import predefined_split

from . import parts
from ._augment import _BaseAugmenter
from ._batches import TensorDataset, steps_per_epoch
from ._cnn import DropoutCNN, _positive_integers
from ._distort import WEAK_DISTORTION, RandomDistortion
from ._net import PseudoLabelNet, resolve_precision
from ._test_time import AffineViews
from ._validation import (
    IMAGE_DTYPES,
    as_image_tensor,
    flatten_images,
    resolve_image_shape,
    unlabeled_mask,
)
from .callbacks import DivergenceGuard, HeldOutAccuracy, WeightAverage

__all__ = ["PseudoLabelCNNClassifier"]


def _forked_rng(device):
    """Fork torch's global RNG (CPU and the training GPU) around a fit."""
    device = torch.device(device)
    devices = []
    if device.type == "cuda":
        devices = [device.index if device.index is not None else 0]
    return torch.random.fork_rng(devices=devices)


def _is_module_param(name):
    return name.startswith("module__")


def _warpable_range(X, image_shape):
    """Pixel range ``(low, high)`` of images ``X`` (uint8 scaled), or None.

    None for rows of features (images one pixel high or wide) and blank
    images: nothing to warp.
    """
    low, high = (float(X.min()), float(X.max())) if X.size else (0.0, 0.0)
    if X.dtype == np.uint8:
        low, high = low / 255, high / 255
    if min(image_shape[1:]) < 2 or not low < high:
        return None
    return low, high


def _predict_proba(net, views, X, rows=None):
    """Probabilities of ``net`` for tensor ``X`` (or its ``rows``), on its device.

    Averaged over ``views`` (:class:`AffineViews`) unless it is None.
    """
    if views is None:
        return torch.softmax(net.predict_logits(X, rows), dim=1)
    return views.predict_proba(net, X, rows)


#: max_epochs="auto": at least this many epochs (with a student, fewer) ...
_AUTO_EPOCHS = 60
_AUTO_EPOCHS_WITH_STUDENT = 45
#: ... and at least this many optimizer steps (small data sets, short epochs).
_AUTO_STEPS = 1500
#: student_epochs="auto": at least this many epochs (and _AUTO_STEPS steps) ...
_AUTO_STUDENT_EPOCHS = 20
#: ... or this many for the wide students of student_channels="auto" (about
#: the cost of _AUTO_STUDENT_EPOCHS of the network's width) ...
_AUTO_WIDE_STUDENT_EPOCHS = 10
#: ... when there are at least this many unlabeled rows. Measured on MNIST,
#: students predicting with test-time augmentation helped from 100 to 3,000
#: labels; the student hurt on the demo's 1,157 unlabeled digits. The bound
#: between is a choice.
_AUTO_STUDENT_MIN_UNLABELED = 10_000
#: student_rounds="auto": this many students. Measured end to end on MNIST
#: with the wide students, a second one lowered the test error on seven of
#: nine fits from 600 to 3,000 labels (on average over draws 0 to 2, 0.88 to
#: 0.78 % at 600, 0.69 to 0.65 at 1,000, 0.60 to 0.57 at 3,000) for about
#: 2.5 more minutes of fit, and with students of the network's width at 100
#: labels on each of five draws.
_AUTO_STUDENT_ROUNDS = 2
#: T2=None: the unlabeled weight reaches alpha_f after this share of the run.
_AUTO_RAMP = 0.1
#: augmenter="auto": the share of labeled images that get a random stroke.
_AUTO_STROKES = 0.5

#: Seeds are drawn in [0, _SEED_BOUND).
_SEED_BOUND = 2**31 - 1

#: The parameters of the default DropoutCNN.
_CNN_PARAMS = (
    "channels",
    "kernel_sizes",
    "dropout",
    "activation",
    "batch_norm",
    "hidden_units",
    "init",
)


def _silent(*args, **kwargs):
    """Print nothing: the sink of a silent EarlyStopping."""


def _check_monitored_scores(callbacks, validating):
    """Name what a user callback monitors that nothing will record."""
    recorded = {"train_loss", "train_loss_best"}
    if validating:
        recorded |= {"valid_loss", "valid_loss_best", "valid_acc", "valid_acc_best"}
    for callback in callbacks:
        name = getattr(callback, "name", None)
        if isinstance(callback, HeldOutAccuracy):
            if validating and name in ("valid_acc", "valid_loss"):
                raise ValueError(
                    f"HeldOutAccuracy(name={name!r}) would overwrite the "
                    "early_stopping validation score of the same name: give it "
                    "another name."
                )
            recorded |= {name, name + "_best"}
    for callback in callbacks:
        monitor = getattr(callback, "monitor", None)
        if (
            isinstance(monitor, str)
            and monitor.startswith("valid_")
            and monitor not in recorded
        ):
            raise ValueError(
                f"{type(callback).__name__} monitors {monitor!r}, which needs "
                "validation data: set early_stopping=True (a stratified "
                "hold-out of the labeled rows, validation_fraction) or add a "
                "HeldOutAccuracy callback."
            )


class _SigintRecorder:
    """Record a Ctrl-C (SIGINT) during ``fit``, then let it raise as usual.

    skorch ends training on ``KeyboardInterrupt`` without re-raising it, and
    its own ``EarlyStopping`` raises one to stop: only the signal tells a
    user's Ctrl-C apart. Signal handlers live in the main thread; elsewhere
    (e.g. a Dask worker thread) nothing is recorded.
    """

    def __enter__(self):
        self.pressed = False
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        self.pressed = True
        if callable(self._previous):
            self._previous(signum, frame)
        else:
            raise KeyboardInterrupt

    def check(self):
        """Raise ``KeyboardInterrupt`` if Ctrl-C was pressed.

        skorch swallows Ctrl-C and returns a half-trained net; like
        scikit-learn's estimators, stop the caller (a search too), leaving the
        estimator as it was.
        """
        if self.pressed:
            raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


class PseudoLabelCNNClassifier(ClassifierMixin, BaseEstimator):
    """Dropout CNN trained with Pseudo-Label on labeled and unlabeled images.

    Rows of ``y`` equal to -1 are unlabeled, as in
    :mod:`sklearn.semi_supervised`. Each training step takes a labeled batch
    and an unlabeled batch and minimises (Lee, 2013)::

        loss = CE(labeled) + α(t) · mean_unlabeled mask · CE(pseudo-label)

    where the pseudo-label of an unlabeled image is what a teacher network
    predicts for it, and α(t) ramps linearly from 0 at epoch ``T1`` to
    ``alpha_f`` at epoch ``T2`` (see :func:`alpha_schedule`). Without
    unlabeled rows it trains a plain supervised network (and warns).

    A step is made of parts with one job each (:mod:`sklearn_pseudolabel.parts`),
    built from the hyperparameters below: the *views* (``augmenter``,
    ``augmenter_unlabeled``), the *teacher* (``teacher``, ``ema_decay``,
    ``refresh``), the *alignment* (``distribution_alignment``), the *targets*
    (``targets``, ``temperature``) and the *mask* (``mask``, ``threshold``).

    After the Pseudo-Label epochs, with many unlabeled rows, a fresh network
    twice as wide (the *student*, ``student_epochs``, ``student_channels``)
    is trained on the labels the
    Pseudo-Label network gives the unlabeled rows, then a second one on the
    first one's labels (``student_rounds``);
    the last is the model that predicts, by default from the image and 8
    fixed warps of it (``test_time_augmentation``).

    The network is :class:`DropoutCNN` (or any torch module, ``module``),
    trained through skorch with SGD. The defaults are the library's measured
    best recipe at a CPU budget (MNIST in 16 to 21 minutes on 2 cores in
    float32, up to 27 while the host ran slow, 13 to 17 in bfloat16 on a
    CPU with AMX; see the user guide): a
    batch-normalised CNN, a mean teacher labelling the clean unlabeled
    images per batch, a 0.95 confidence threshold, a weak augmentation of
    the labeled images (with random strokes across half of them), cosine
    learning-rate decay, a run length and α ramp that adapt to the data
    set, wide students, and
    predictions averaged over fixed warps of each image. The
    reference configuration of Lee (2013) and the 2017 report is one
    dictionary of parameters away (user guide, "The reference
    configuration").

    Parameters
    ----------
    alpha_f : float, default=1.0
        Final weight of the pseudo-label loss. ``0`` disables pseudo-labels.

    T1 : int or None, default=None
        Epoch at which the weight starts to grow from 0. None: 0.

    T2 : int or None, default=None
        Epoch at which the weight reaches ``alpha_f``; ``T2 >= T1``. None:
        a tenth of the run, ``round(0.1 * max_epochs)`` (at least ``T1``).

    refresh : {"epoch", "batch"}, default="batch"
        When the teacher labels. ``"epoch"``: the whole unlabeled set at the
        start of each epoch, as in the reference experiment. ``"batch"``: each
        unlabeled batch at its step, as in Lee (2013). Before ``T1`` no
        pseudo-labels are computed at all.

    teacher : {"eval", "training_pass"} or Teacher, default="eval"
        Who predicts the pseudo-labels. ``"eval"``: a separate forward pass,
        in eval mode (no dropout), of the predicting network (the weight
        average with ``ema_decay``, else the network being trained) on the
        un-augmented images. ``"training_pass"``: the argmax of the training
        forward pass itself, dropout and augmentation included, at no extra
        cost (Lee, 2013); needs ``refresh="batch"`` and no ``ema_decay``. A
        :class:`~sklearn_pseudolabel.parts.Teacher` instance is used as given.

    targets : {"hard", "soft"} or Targets, default="hard"
        What the student is trained towards: ``"hard"``, the most probable
        class (Lee); ``"soft"``, the teacher's probabilities sharpened by
        ``temperature``. A :class:`~sklearn_pseudolabel.parts.Targets`
        instance is used as given.

    temperature : float, default=1.0
        Sharpening temperature of ``targets="soft"`` (``p^(1/T)``,
        renormalised); must stay 1 otherwise.

    distribution_alignment : bool, default=False
        Scale the teacher's probabilities by the labeled class frequencies
        over a running mean of its predictions (ReMixMatch), against a teacher
        that favours some classes; see
        :class:`~sklearn_pseudolabel.parts.DistributionAlignment`.

    mask : {"fixed", "class_adaptive"} or Mask, default="fixed"
        How much each pseudo-label counts. ``"fixed"``: those whose
        probability reaches ``threshold`` (all of them when ``threshold`` is
        None); ``"class_adaptive"``: class-wise thresholds lowered for classes
        the network has not learned yet (FlexMatch), ``threshold`` being the
        highest. A :class:`~sklearn_pseudolabel.parts.Mask` instance is used as
        given (with ``threshold=None``).

    threshold : float or None, default=0.95
        Confidence threshold of ``mask`` (Arazo et al., 2019; USB uses 0.95);
        with ``mask="class_adaptive"`` the threshold of well-learned classes.
        Rejected pseudo-labels count as zero in the mean. None keeps all
        (only with ``mask="fixed"``).

    batch_size : int, default=64
        Labeled images per step.

    batch_size_unlabeled : int, default=448
        Unlabeled images per step (7 per labeled image, as FixMatch). An epoch
        is one pass over the larger of the two streams; the smaller one is
        cycled.

    max_epochs : int or "auto", default="auto"
        Number of Pseudo-Label epochs. ``"auto"``: 60, or 45 when a student
        follows (``student_epochs``), or more when epochs are short, so that
        training makes at least 1,500 optimizer steps (a small data set has
        epochs of a few steps). Pseudo-labels are used only in
        epochs ``>= T1``, so ``max_epochs <= T1`` trains a supervised network
        (a warning says so).

    student_epochs : int or "auto", default="auto"
        Epochs of a *student* trained after the Pseudo-Label epochs: a network
        of the same architecture (but ``student_channels``) with fresh
        weights, trained on every row, the
        unlabeled ones under the Pseudo-Label network's labels (its
        predictions for them, with ``test_time_augmentation``), with
        ``augmenter``, dropout and ``lr_decay`` over these epochs, and no
        threshold: a round of Noisy Student (Xie et al., 2020); see
        ``student_rounds``. The last student predicts. A fresh network does
        not inherit the features that made the teacher's mistakes, and learns
        what the teacher got right from every image it labeled (user guide,
        "The student round"). ``"auto"``: with at least 10,000 unlabeled rows,
        10 epochs for the wide students of ``student_channels="auto"`` and
        20 for others (or more, so that a student makes at least 1,500
        optimizer steps); otherwise no student. On MNIST a 10-epoch round of
        the wide students took about 4.5 minutes on 2 CPU cores in float32
        (a CPU without AMX), a 20-epoch round of students of the network's
        width about 4 minutes (2.4 in bfloat16); with 100 labels, 45
        Pseudo-Label epochs and a student gave a lower test error than 60
        Pseudo-Label epochs alone on each of five label draws (1.27 against
        1.45 %, without test-time augmentation); with 600, 1,000 and 3,000
        labels a student on the labels of 60 Pseudo-Label epochs lowered the
        error from 1.01, 1.02 and 0.78 % to 0.73, 0.78 and 0.65 % (with
        test-time augmentation, one draw each), and end to end the defaults
        (45 epochs and a student of the network's width) gave 0.89, 0.72 and
        0.65 % (three draws each; docs/benchmarks.md, "Lee's table"). On the
        demo's digits (1,157 unlabeled images) a student cost 1.1 points of
        accuracy (0.958 against 0.969, three draws). 0, no unlabeled rows, or
        no pseudo-labels (``alpha_f=0``, ``T1 >= max_epochs``): no student.

    student_rounds : int or "auto", default="auto"
        Number of students, one after the other, each trained on the labels
        of the network before it (the first on the Pseudo-Label network's).
        Unused without a student (``student_epochs``). ``"auto"``: 2. End
        to end on MNIST with the wide students of ``student_channels="auto"``
        (docs/benchmarks.md, "Lee's table"), a second student gave 0.71,
        0.66 and 0.97 % on three label draws with 600 labels (one student:
        0.86, 0.84 and 0.95 %; 0.78 against 0.88 % on average), 0.73, 0.64
        and 0.58 % with 1,000 labels (one student: 0.75, 0.65 and 0.66 %)
        and 0.62, 0.55 and 0.55 % with 3,000 (one student: 0.63, 0.64 and
        0.53 %), for about 2.5 more minutes of fit on 2 CPU cores (10
        student epochs and the labels with the warps; 12.8 to 16.9 minutes
        per fit in bfloat16 on a CPU with AMX; in float32, 20.6 to 21.4
        minutes at 250, 600, 1,000 and 3,000 labels and 18.4 to 26.5 at
        100, at or over a 20-minute budget, where ``student_rounds=1`` saves
        about 4 minutes). With students of the network's width, a second
        one lowered the error on each of five label draws with 100 labels
        (1.03 to 0.98 % on average).

    student_channels : tuple of int, "auto" or None, default="auto"
        Output channels of the students' convolution layers, one per layer
        of ``kernel_sizes``; the rest of their network is the Pseudo-Label
        network's. ``"auto"``: twice ``channels`` with the default
        :class:`DropoutCNN` ((32, 64, 128) for the default channels), a user
        module's network otherwise. None: the Pseudo-Label network's
        ``channels``. Unused without a student (``student_epochs``). Noisy
        Student (Xie et al., 2020) trains a student as large as its teacher
        or larger. End to end on MNIST (docs/benchmarks.md, "Lee's table";
        float32, 2 CPU cores), the wide students of ``"auto"`` trained for
        10 epochs (``student_epochs="auto"``, about the cost of 20 epochs of
        students of the network's width) gave 1.16, 0.79, 0.90, 0.86 and
        0.88 % on the five label draws with 100 labels (mean 0.92 %;
        students of the network's width: 1.17, 0.86, 1.04, 0.87 and 0.90 %,
        mean 0.97 %), and 0.60, 0.69, 0.88 and 0.85 % with 3,000, 1,000,
        600 and 250 labels (draws 0 to 2; the network's width: 0.65, 0.72,
        0.89 and 0.90 % on the same draws), in about the same fit time. A
        tuple needs the default :class:`DropoutCNN` (``module=None``).

    lr : float, default=0.05
        Learning rate of SGD.

    lr_decay : float or "cosine", default="cosine"
        Learning-rate schedule, applied after each epoch: a float multiplies
        the rate by it (:class:`~torch.optim.lr_scheduler.ExponentialLR`);
        ``"cosine"`` decays it along a half cosine over ``max_epochs``
        (:class:`~torch.optim.lr_scheduler.CosineAnnealingLR`).

    momentum : float, default=0.9
        SGD momentum.

    nesterov : bool, default=True
        Nesterov's accelerated gradient instead of classical momentum.

    weight_decay : float, default=5e-4
        L2 penalty of SGD.

    module : torch.nn.Module class, callable or None, default=None
        The network. None: :class:`DropoutCNN` built from ``channels``,
        ``kernel_sizes``, ``dropout``, ``activation``, ``batch_norm``,
        ``hidden_units`` and ``init``. Otherwise a module class or a function
        called as ``module(input_shape=(C, H, W), n_classes=k, **params)``,
        where ``params`` are the estimator's ``module__<name>`` parameters, as
        in skorch; it receives batches of shape ``(n, C, H, W)`` and returns
        logits. The CNN parameters must then keep their defaults.

    channels : tuple of int, default=(16, 32, 64)
        Output channels of the convolution layers of :class:`DropoutCNN`
        (the reference network has 32, 64, 128).

    kernel_sizes : tuple of int, default=(5, 3, 2)
        Kernel sizes of the convolution layers.

    dropout : float, default=0.5
        Dropout probability before the output layer (and the hidden layer).

    activation : {"relu", "tanh", "sigmoid"}, default="relu"
        Hidden non-linearity.

    batch_norm : bool, default=True
        Batch normalisation after each convolution (see :class:`DropoutCNN`).

    hidden_units : int, default=128
        Units of a dense hidden layer before the output; 0 for none.

    init : {"he", "xavier"}, default="he"
        Weight initialisation, see :class:`DropoutCNN`.

    image_shape : tuple of int or None, default=None
        ``(H, W)`` or ``(C, H, W)`` of one image when ``X`` is 2-D. None
        infers a square grey image from ``n_features`` (a non-square count is
        read as one row of pixels, so tabular data works too). Ignored for
        3-D ``(n, H, W)`` and 4-D ``(n, C, H, W)`` ``X``, whose shape is used.

    augmenter : "auto", ImageAugmenter, RandomDistortion or None, \
            default="auto"
        Applied on the fly, on the training device, to every labeled training
        batch (fresh randomness at every step). Any object with an
        ``augment_tensor(X, generator)`` method works. ``"auto"``: a weak
        :class:`RandomDistortion` (rotation up to 10°, scale and translation
        up to 10 %) that also draws a random horizontal stroke on half of the
        images (``stroke_probability=0.5``), with the pixel range of the
        training images; none for rows of features (images one pixel high or
        wide). The strokes teach the network that a bar across a character
        does not change it: without them, a label draw whose few 7s are not
        crossed loses the crossed 7s to 3 or 2 (user guide).

    augmenter_unlabeled : "auto", ImageAugmenter, RandomDistortion or None, \
            default=None
        The student's view of the unlabeled images, applied on the fly; the
        teacher (``teacher="eval"``) labels the un-augmented images, so the
        network learns to give the augmented image the clean image's label
        (FixMatch's weak/strong consistency). ``"auto"``: the same weak
        :class:`RandomDistortion` as ``augmenter="auto"``, without strokes.
        None: the student sees the clean images.

    test_time_augmentation : bool or "auto", default="auto"
        Predict with the mean of the network's probabilities for the image and
        8 fixed warps of it: rotations by ±8°, zooms by ±8 % and shifts by
        ±5 % of the side along each axis, one at a time. It applies to
        ``predict_proba``, ``predict``, ``score`` and ``transduction_``, and
        costs 9 forward passes instead of one (on 2 CPU cores in bfloat16,
        10,000 MNIST images took 2 to 4 s instead of 0.2 to 0.5 s). The
        warps are the same for every image, so a row's prediction depends on
        that row alone.
        ``"auto"``: on with ``augmenter="auto"``, whose weak view the network
        learned (the student on every training row; the Pseudo-Label network
        on the labeled ones), off with any other augmenter. On MNIST with 100
        labels the students of five default fits went from 1.29 to 1.03 %
        test error on average (lower on every draw), while their
        Pseudo-Label networks were not helped (1.53 against 1.55 %); without
        a student, 60 Pseudo-Label epochs with 250 to 3,000 labels went from
        1.05 to 0.97 % (eight fits: five better, one level, two worse); on
        the demo's digits, accuracy went from 0.9654 to 0.9679 (user guide,
        "Test-time augmentation"). True needs images at least 2 pixels high
        and wide.

    ema_decay : float in [0, 1) or None, default=0.99
        Keep an exponential moving average of the weights, updated after every
        optimizer step, with a warm-up that shortens it in short runs (see
        :class:`~sklearn_pseudolabel.callbacks.WeightAverage`). The averaged
        network is the teacher (a "mean teacher"), is what
        :class:`~sklearn_pseudolabel.callbacks.HeldOutAccuracy` scores, and its
        weights become the fitted model. None uses the raw weights.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the labeled rows (stratified,
        drawn with ``random_state``; they are not trained on, not even as
        unlabeled images), record ``valid_loss`` and ``valid_acc`` of the
        predicting network after every epoch, and stop when ``valid_loss``
        has not improved for ``n_iter_no_change`` epochs (as
        :class:`~sklearn.neural_network.MLPClassifier`). The weights at the
        stop are kept. skorch's ``EarlyStopping()`` and ``Checkpoint()`` work
        with their defaults alongside. Inside ``GridSearchCV`` the outer split
        is untouched: the hold-out comes from each training fold's labels.

    validation_fraction : float in (0, 1), default=0.1
        Share of the labeled rows held out with ``early_stopping``; each
        class needs a labeled row on both sides.

    n_iter_no_change : int, default=10
        Epochs without improvement of ``valid_loss`` before stopping.

    callbacks : list of skorch callbacks or None, default=None
        Extra skorch callbacks (``ProgressBar``, :class:`HeldOutAccuracy`
        with ``EarlyStopping``, ...), copied at fit; the fitted copies are in
        ``net_.callbacks_``. The student gets copies of its own, in
        ``student_net_.callbacks_``.

    device : str, default="cpu"
        Torch device for training and prediction, e.g. ``"cuda"``.

    precision : {"auto", "float32", "bfloat16"}, default="auto"
        Precision of the network's forward passes in training and
        prediction. ``"bfloat16"`` runs them under ``torch.autocast`` (mixed
        precision: weights, gradients, the optimizer and the losses stay
        float32). Faster where the hardware has bfloat16 matrix units, often
        slower on CPUs without them. ``"auto"``: ``"bfloat16"`` on a CPU with
        Intel AMX, ``"float32"`` elsewhere (on an H200 GPU the defaults'
        epochs were no faster in bfloat16). On this project's CPU
        (AMX) a default fit on MNIST with 100 labels took 11.2 instead of
        15.7 minutes, at the same test error over five label draws
        (1.29 ± 0.12 against 1.27 ± 0.11 %); on the demo's 8x8 digits the
        accuracy was 0.4 points lower. The precision used is
        ``net_.precision``; ``"float32"`` makes it independent of the CPU.
        The pseudo-label probabilities are computed in float32 from the
        logits either way.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, batch order and augmentation.
        The same value gives the same model on CPU. torch's global RNG is left
        as it was.

    verbose : int, default=0
        Print skorch's per-epoch table when positive.

    **module_params : dict
        ``module__<name>`` parameters for a user ``module``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen in the labeled rows (never -1).

    n_features_in_ : int
        Number of features (pixels × channels) per sample.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    image_shape_ : tuple of int
        ``(C, H, W)`` of one image.

    transduction_ : ndarray of shape (n_samples,)
        Label of every training row: the given label, or for unlabeled rows
        the label predicted by the final network (the last student's, with
        ``student_epochs``).

    history_ : skorch.history.History
        Per-epoch record: ``alpha``, ``lr``, ``train_loss`` (total),
        ``train_loss_labeled``, ``train_loss_unlabeled``,
        ``pseudo_label_confident`` (mean mask weight: the fraction kept by a
        threshold), ``pseudo_label_changed`` (fraction of the unlabeled
        images whose pseudo-label changed over the epoch, from the one of
        the epoch's start to the last),
        ``dur``, of the Pseudo-Label epochs. E.g. ``clf.history_[:, "alpha"]``.
        The student's record is ``student_net_.history``.

    n_iter_ : int
        Number of Pseudo-Label epochs run (fewer than ``max_epochs`` after
        early stopping); the student's are ``len(student_net_.history)``.

    net_ : PseudoLabelNet
        The skorch net trained with Pseudo-Label.

    student_net_ : PseudoLabelNet or None
        The last student's skorch net, which predicts (see ``student_epochs``
        and ``student_rounds``; the earlier students are not kept); None
        without a student (``student_epochs=0``, no unlabeled rows, or
        no pseudo-labels: ``alpha_f=0`` or ``T1 >= max_epochs``).

    student_histories_ : list of skorch.history.History
        Per-epoch record of each student, in order (``student_rounds``); the
        last one is ``student_net_.history``. Empty without a student.

    module_ : torch.nn.Module
        The trained torch module that predicts: the student's if there is one,
        else ``net_.module_``.

    test_time_augmentation_ : bool
        Whether ``predict_proba`` averages the warps of
        ``test_time_augmentation`` (``"auto"`` resolved).

    See Also
    --------
    sklearn.semi_supervised.SelfTrainingClassifier : Pseudo-labels a base
        estimator's confident predictions, round by round.
    sklearn.semi_supervised.LabelSpreading : Graph-based label propagation.

    Notes
    -----
    Pixel scale: ``uint8`` input is divided by 255; any other dtype is used as
    given (scale it yourself, e.g. to [0, 1]).

    Pickling keeps the trained module; a model trained on CUDA loads on a
    CPU-only machine through skorch, which moves it to the CPU.

    References
    ----------
    Lee, D.-H. (2013). Pseudo-Label: The simple and efficient semi-supervised
    learning method for deep neural networks. ICML Workshop on Challenges in
    Representation Learning.

    Arazo, E. et al. (2019). Pseudo-labeling and confirmation bias in deep
    semi-supervised learning. arXiv:1908.02983.

    Xie, Q. et al. (2020). Self-training with Noisy Student improves ImageNet
    classification. CVPR.

    Tarvainen, A. and Valpola, H. (2017). Mean teachers are better role
    models. NeurIPS.

    Sohn, K. et al. (2020). FixMatch: Simplifying semi-supervised learning
    with consistency and confidence. NeurIPS.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_pseudolabel import PseudoLabelCNNClassifier, hide_labels
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> y_partial = hide_labels(y, n_labeled=200, random_state=0)
    >>> clf = PseudoLabelCNNClassifier(
    ...     max_epochs=4, T1=1, T2=3, channels=(8, 16, 16), random_state=0
    ... ).fit(X, y_partial)
    >>> clf.classes_
    array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    >>> clf.history_[:, "alpha"]
    [0.0, 0.0, 0.5, 1.0]
    >>> clf.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {
        "alpha_f": [Interval(Real, 0, None, closed="left")],
        "T1": [Interval(Integral, 0, None, closed="left"), None],
        "T2": [Interval(Integral, 0, None, closed="left"), None],
        "refresh": [StrOptions({"epoch", "batch"})],
        "teacher": [StrOptions({"eval", "training_pass"}), parts.Teacher],
        "targets": [StrOptions({"hard", "soft"}), parts.Targets],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "distribution_alignment": ["boolean"],
        "mask": [StrOptions({"fixed", "class_adaptive"}), parts.Mask],
        "threshold": [Interval(Real, 0, 1, closed="both"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "batch_size_unlabeled": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "student_epochs": [
            Interval(Integral, 0, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "student_rounds": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "student_channels": [tuple, list, StrOptions({"auto"}), None],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "lr_decay": [Interval(Real, 0, 1, closed="right"), StrOptions({"cosine"})],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "nesterov": ["boolean"],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "module": [callable, None],
        "channels": [tuple, list],
        "kernel_sizes": [tuple, list],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "activation": [StrOptions({"relu", "tanh", "sigmoid"})],
        "batch_norm": ["boolean"],
        "hidden_units": [Interval(Integral, 0, None, closed="left")],
        "init": [StrOptions({"he", "xavier"})],
        "image_shape": [tuple, list, None],
        "augmenter": [HasMethods(["augment_tensor"]), StrOptions({"auto"}), None],
        "augmenter_unlabeled": [
            HasMethods(["augment_tensor"]),
            StrOptions({"auto"}),
            None,
        ],
        "test_time_augmentation": ["boolean", StrOptions({"auto"})],
        "ema_decay": [Interval(Real, 0, 1, closed="left"), None],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "callbacks": [list, None],
        "device": [str, torch.device],
        "precision": [StrOptions({"auto", "float32", "bfloat16"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        alpha_f=1.0,
        T1=None,
        T2=None,
        refresh="batch",
        teacher="eval",
        targets="hard",
        temperature=1.0,
        distribution_alignment=False,
        mask="fixed",
        threshold=0.95,
        batch_size=64,
        batch_size_unlabeled=448,
        max_epochs="auto",
        student_epochs="auto",
        student_rounds="auto",
        student_channels="auto",
        lr=0.05,
        lr_decay="cosine",
        momentum=0.9,
        nesterov=True,
        weight_decay=5e-4,
        module=None,
        channels=(16, 32, 64),
        kernel_sizes=(5, 3, 2),
        dropout=0.5,
        activation="relu",
        batch_norm=True,
        hidden_units=128,
        init="he",
        image_shape=None,
        augmenter="auto",
        augmenter_unlabeled=None,
        test_time_augmentation="auto",
        ema_decay=0.99,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        callbacks=None,
        device="cpu",
        precision="auto",
        random_state=None,
        verbose=0,
        **module_params,
    ):
        self.alpha_f = alpha_f
        self.T1 = T1
        self.T2 = T2
        self.refresh = refresh
        self.teacher = teacher
        self.targets = targets
        self.temperature = temperature
        self.distribution_alignment = distribution_alignment
        self.mask = mask
        self.threshold = threshold
        self.batch_size = batch_size
        self.batch_size_unlabeled = batch_size_unlabeled
        self.max_epochs = max_epochs
        self.student_epochs = student_epochs
        self.student_rounds = student_rounds
        self.student_channels = student_channels
        self.lr = lr
        self.lr_decay = lr_decay
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay
        self.module = module
        self.channels = channels
        self.kernel_sizes = kernel_sizes
        self.dropout = dropout
        self.activation = activation
        self.batch_norm = batch_norm
        self.hidden_units = hidden_units
        self.init = init
        self.image_shape = image_shape
        self.augmenter = augmenter
        self.augmenter_unlabeled = augmenter_unlabeled
        self.test_time_augmentation = test_time_augmentation
        self.ema_decay = ema_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.callbacks = callbacks
        self.device = device
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose
        # Stored as given and checked at fit, as every parameter.
        vars(self).update(module_params)

    # ------------------------------------------------ module__* parameters
    def get_params(self, deep=True):
        """Get parameters, the ``module__<name>`` ones included.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of sub-estimators (e.g. the
            augmenter's).

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        params = super().get_params(deep=deep)
        params.update(self._module_params())
        return params

    def set_params(self, **params):
        """Set parameters, ``module__<name>`` ones included.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : PseudoLabelCNNClassifier
            This estimator.
        """
        extra = self._module_params()
        module_params = {
            k: params.pop(k) for k in list(params) if _is_module_param(k) or k in extra
        }
        vars(self).update(module_params)
        return super().set_params(**params)

    def _module_params(self):
        """Return the keyword parameters beyond the named ones (``module__*``)."""
        named = self._get_param_names()
        return {
            k: v
            for k, v in vars(self).items()
            # fitted attributes end with "_"; sklearn sets private ones
            if k not in named and not k.endswith("_") and not k.startswith("_")
        }

    # ------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train on labeled (``y != -1``) and unlabeled (``y == -1``) rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, H, W) \
                or (n_samples, C, H, W)
            Training images, flat rows or image arrays.

        y : array-like of shape (n_samples,)
            Labels; -1 marks an unlabeled row.

        Returns
        -------
        self : PseudoLabelCNNClassifier
            The fitted estimator.
        """
        # Fitting is all-or-nothing: on any error the estimator is left exactly
        # as it was (unfitted, or with its previous fit).
        state = self.__dict__.copy()
        try:
            return self._fit(X, y)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    def _fit(self, X, y):
        self._check_combinations()
        X, array_shape = flatten_images(X)
        X, y = validate_data(self, X, y, dtype=IMAGE_DTYPES)
        image_shape = resolve_image_shape(X.shape[1], self.image_shape, array_shape)
        self._check_pixel_scale(X)
        tta = self.test_time_augmentation
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
        max_epochs, T1, T2 = self._schedule(
            int((~unlabeled).sum()), int(unlabeled.sum())
        )
        if not unlabeled.any():
            warnings.warn("y contains no unlabeled samples", UserWarning)
        elif self.alpha_f > 0 and T1 >= max_epochs:
            warnings.warn(
                f"T1={T1} >= max_epochs={max_epochs}: pseudo-labels "
                "are never used. Lower T1 and T2 or raise max_epochs.",
                UserWarning,
            )
        y_encoded = np.full(len(y), -1, dtype=np.int64)
        y_encoded[~unlabeled] = encoder.transform(y[~unlabeled])

        seed = int(check_random_state(self.random_state).randint(_SEED_BOUND))
        train_rows, valid_rows = self._validation_split(y_encoded, seed)
        with _forked_rng(self.device), _SigintRecorder() as ctrl_c:
            torch.manual_seed(seed)
            X_tensor = as_image_tensor(X, image_shape, self.device)
            y_tensor = torch.as_tensor(y_encoded, device=X_tensor.device)
            valid = None
            if valid_rows is not None:
                valid = TensorDataset(X_tensor[valid_rows], y_tensor[valid_rows])
            net = self._build_net(
                image_shape,
                encoder.classes_,
                seed,
                valid=valid,
                schedule=dict(max_epochs=max_epochs, T1=T1, T2=T2),
                augmenters=(
                    self._resolve_augmenter(
                        self.augmenter, X, image_shape, _AUTO_STROKES
                    ),
                    self._resolve_augmenter(self.augmenter_unlabeled, X, image_shape),
                ),
            )
            X_train, y_train = X_tensor, y_tensor
            if train_rows is not None:
                X_train, y_train = X_tensor[train_rows], y_tensor[train_rows]
            net.fit(X_train, y_train)
            # The held-out images are not part of the fitted model.
            net.train_split = None
            ctrl_c.check()
            views = self._resolve_test_time_views(X, image_shape)
            student, student_histories = None, []
            # Decided on all the rows, as _schedule chose max_epochs; none if
            # the pseudo-labels never started.
            n_unlabeled = int(unlabeled.sum())
            student_epochs = self._student_epochs(len(y), n_unlabeled)
            if student_epochs and T1 < max_epochs:
                # Each student learns the labels of the network before it.
                for round_ in range(self._student_rounds()):
                    student = self._build_student(
                        net if student is None else student,
                        views,
                        X_train,
                        y_train,
                        image_shape,
                        encoder.classes_,
                        (seed + 1 + round_) % _SEED_BOUND,
                        valid,
                        student_epochs,
                    )
                    student_histories.append(student.history)
                    ctrl_c.check()
            transduction = y.copy()
            if unlabeled.any():
                rows = torch.as_tensor(np.flatnonzero(unlabeled), device=net.device)
                proba = _predict_proba(
                    net if student is None else student, views, X_tensor, rows
                )
                transduction[unlabeled] = encoder.classes_[
                    proba.argmax(dim=1).cpu().numpy()
                ]

        self.classes_ = encoder.classes_
        self.image_shape_ = image_shape
        self.transduction_ = transduction
        self.net_ = net
        self.student_net_ = student
        self.student_histories_ = student_histories
        self._test_time_views = views
        self.n_iter_ = len(net.history)
        return self

    def _student_epochs(self, n_rows, n_unlabeled):
        """``student_epochs``, "auto" resolved for ``n_rows`` training rows.

        0 without unlabeled rows or pseudo-labels (``alpha_f=0``): a student
        learns pseudo-labels.
        """
        if not n_unlabeled or self.alpha_f == 0:
            return 0
        if self.student_epochs != "auto":
            return self.student_epochs
        if n_unlabeled < _AUTO_STUDENT_MIN_UNLABELED:
            return 0
        steps = steps_per_epoch(n_rows, 0, self.batch_size, self.batch_size_unlabeled)
        wide = self.student_channels == "auto" and self._student_channels() is not None
        epochs = _AUTO_WIDE_STUDENT_EPOCHS if wide else _AUTO_STUDENT_EPOCHS
        return max(epochs, math.ceil(_AUTO_STEPS / steps))

    def _student_channels(self):
        """``student_channels``, "auto" resolved.

        ``"auto"``: twice ``channels`` with the default DropoutCNN, None (the
        user module's network) with a user module.
        """
        if self.student_channels != "auto":
            return self.student_channels
        if self.module is not None:
            return None
        return tuple(2 * c for c in self.channels)

    def _student_rounds(self):
        """``student_rounds``, "auto" resolved."""
        if self.student_rounds != "auto":
            return self.student_rounds
        return _AUTO_STUDENT_ROUNDS

    def _build_student(
        self, net, views, X, y, image_shape, classes, seed, valid, student_epochs
    ):
        """Train a fresh network on ``y`` with ``net``'s labels for its -1 rows.

        ``net``'s labels are its predictions as the classifier makes them:
        averaged over ``views`` unless it is None. The student has ``net``'s
        architecture (but ``student_channels``) and optimizer, new weights
        (``seed``), ``student_epochs`` epochs of its own learning-rate
        schedule and the labeled rows' augmentation; every row counts as
        labeled.
        """
        unlabeled = y < 0
        y = y.clone()
        rows = unlabeled.nonzero()[:, 0]
        y[unlabeled] = _predict_proba(net, views, X, rows).argmax(1)
        student = self._build_net(
            image_shape,
            classes,
            seed,
            valid=valid,
            schedule=dict(max_epochs=student_epochs, T1=0, T2=0),
            augmenters=(net.views.labeled, None),
            alpha_f=0.0,
            channels=self._student_channels(),
        )
        student.fit(X, y)
        student.train_split = None
        return student

    def _schedule(self, n_labeled, n_unlabeled):
        """``max_epochs``, ``T1`` and ``T2``, the automatic ones resolved."""
        max_epochs = self.max_epochs
        if max_epochs == "auto":
            steps = steps_per_epoch(
                n_labeled, n_unlabeled, self.batch_size, self.batch_size_unlabeled
            )
            with_student = self._student_epochs(n_labeled + n_unlabeled, n_unlabeled)
            epochs = _AUTO_EPOCHS_WITH_STUDENT if with_student else _AUTO_EPOCHS
            max_epochs = max(epochs, math.ceil(_AUTO_STEPS / steps))
        T1 = 0 if self.T1 is None else self.T1
        T2 = self.T2
        if T2 is None:
            T2 = max(T1, round(_AUTO_RAMP * max_epochs))
        return max_epochs, T1, T2

    @staticmethod
    def _resolve_augmenter(augmenter, X, image_shape, stroke_probability=0.0):
        """Return ``augmenter``, ``"auto"`` resolved for ``X``.

        ``"auto"`` is the weak :class:`RandomDistortion` in the pixel range of
        ``X``, drawing strokes on ``stroke_probability`` of the images.
        """
        if not isinstance(augmenter, str):
            return augmenter
        value_range = _warpable_range(X, image_shape)
        if value_range is None:
            return None
        return RandomDistortion(
            **WEAK_DISTORTION,
            stroke_probability=stroke_probability,
            value_range=value_range,
        )

    def _resolve_test_time_views(self, X, image_shape):
        """Return the :class:`AffineViews` that predict, or None."""
        on = self.test_time_augmentation
        if on == "auto":
            on = self.augmenter == "auto"
        value_range = _warpable_range(X, image_shape)
        if not on or value_range is None:
            return None
        return AffineViews(value_range=value_range)

    def _validation_split(self, y_encoded, seed):
        """Training and validation row indices (None, None without a split)."""
        if not self.early_stopping:
            return None, None
        labeled = np.flatnonzero(y_encoded >= 0)
        try:
            train, valid = train_test_split(
                labeled,
                test_size=self.validation_fraction,
                stratify=y_encoded[labeled],
                random_state=seed,
            )
        except ValueError as exc:
            raise ValueError(
                f"early_stopping holds out validation_fraction="
                f"{self.validation_fraction} of the {len(labeled)} labeled rows, "
                "stratified: every class needs a labeled row on both sides "
                f"({exc}). Raise validation_fraction, label more rows, or turn "
                "early_stopping off."
            ) from exc
        train = np.sort(np.concatenate([train, np.flatnonzero(y_encoded < 0)]))
        return torch.as_tensor(train), torch.as_tensor(np.sort(valid))

    def _check_pixel_scale(self, X):
        """Warn about unscaled float pixels; reject pixels the augmenters clip."""
        if X.dtype == np.uint8 or not X.size:
            return
        low, high = X.min(), X.max()
        for name in ("augmenter", "augmenter_unlabeled"):
            augmenter = getattr(self, name)
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

    def _check_combinations(self):
        """Reject settings that contradict each other or would do nothing."""
        unknown = [k for k in self._module_params() if not _is_module_param(k)]
        if unknown:
            raise TypeError(
                f"Unexpected parameter(s) {unknown}: only module__<name> parameters "
                "can be added to those of PseudoLabelCNNClassifier."
            )
        if self.T1 is not None and self.T2 is not None and self.T2 < self.T1:
            raise ValueError(f"T2 must be >= T1; got T1={self.T1}, T2={self.T2}.")
        if self.teacher == "training_pass":
            if self.refresh != "batch":
                raise ValueError(
                    "teacher='training_pass' labels each batch in its own training "
                    "pass: it needs refresh='batch'."
                )
            if self.ema_decay is not None:
                raise ValueError(
                    "teacher='training_pass' predicts with the weights being "
                    "trained; with ema_decay use teacher='eval' (the average "
                    "then predicts)."
                )
        if self.targets != "soft" and self.temperature != 1:
            raise ValueError(
                f"temperature={self.temperature} applies to targets='soft' only."
            )
        if self.mask == "class_adaptive" and self.threshold is None:
            raise ValueError("mask='class_adaptive' needs a threshold.")
        if isinstance(self.mask, parts.Mask) and self.threshold is not None:
            raise ValueError(
                "threshold applies to the built-in masks: pass threshold=None "
                "with your own Mask (and give it a threshold of its own if it "
                "needs one)."
            )
        if self.module is not None:
            if isinstance(self.module, torch.nn.Module):
                raise TypeError(
                    "module must be a torch.nn.Module class or a function that "
                    "builds one, not an instance: pass its class and its "
                    "arguments as module__<name> parameters."
                )
            defaults = inspect.signature(type(self)).parameters
            changed = [
                name
                for name in _CNN_PARAMS
                if getattr(self, name) != defaults[name].default
            ]
            if changed:
                raise ValueError(
                    f"{', '.join(changed)} configure the default DropoutCNN and "
                    "have no effect with a user module: pass module__<name> "
                    "parameters instead."
                )
        elif self._module_params():
            raise ValueError(
                f"{', '.join(self._module_params())} need a user module; the "
                "default DropoutCNN takes the flat parameters (channels, ...)."
            )
        if self.student_channels not in (None, "auto"):
            if self.module is not None:
                raise ValueError(
                    "student_channels configures the default DropoutCNN and has "
                    "no effect with a user module."
                )
            n_layers = len(self.kernel_sizes)
            if len(self.student_channels) != n_layers or not _positive_integers(
                self.student_channels
            ):
                raise ValueError(
                    "student_channels must hold one positive integer per "
                    f"convolution layer ({n_layers}, as kernel_sizes); got "
                    f"{self.student_channels!r}."
                )

    def _build_parts(self, augmenters):
        """Build the parts of the training step from the hyperparameters."""
        # User instances are copied (parts keep per-fit state); the built-in
        # ones are new, and augmenters are only read.
        teacher = copy.deepcopy(self.teacher)
        if isinstance(teacher, str):
            teacher = {
                "eval": parts.EvalTeacher,
                "training_pass": parts.TrainingPassTeacher,
            }[teacher]()
        targets = copy.deepcopy(self.targets)
        if isinstance(targets, str):
            targets = (
                parts.HardTargets()
                if targets == "hard"
                else parts.SoftTargets(self.temperature)
            )
        mask = copy.deepcopy(self.mask)
        if mask == "class_adaptive":
            mask = parts.ClassAdaptiveThreshold(self.threshold)
        elif mask == "fixed":
            mask = (
                parts.KeepAll()
                if self.threshold is None
                else parts.FixedThreshold(self.threshold)
            )
        alignment = (
            parts.DistributionAlignment()
            if self.distribution_alignment
            else parts.Alignment()
        )
        return dict(
            views=parts.Views(*augmenters),
            teacher=teacher,
            alignment=alignment,
            targets=targets,
            mask=mask,
        )

    def _build_module_params(self, image_shape, n_classes, channels=None):
        params = dict(input_shape=image_shape, n_classes=n_classes)
        if self.module is None:
            params.update({name: getattr(self, name) for name in _CNN_PARAMS})
            if channels is not None:
                params["channels"] = channels
            for name in ("channels", "kernel_sizes"):
                params[name] = tuple(params[name])
        else:
            params.update(
                {k[len("module__") :]: v for k, v in self._module_params().items()}
            )
        return {f"module__{k}": v for k, v in params.items()}

    def _build_net(
        self,
        image_shape,
        classes,
        seed,
        valid,
        schedule,
        augmenters,
        alpha_f=None,
        channels=None,
    ):
        if self.lr_decay == "cosine":
            scheduler = LRScheduler(
                policy=torch.optim.lr_scheduler.CosineAnnealingLR,
                T_max=schedule["max_epochs"],
            )
        else:
            scheduler = LRScheduler(
                policy=torch.optim.lr_scheduler.ExponentialLR, gamma=self.lr_decay
            )
        callbacks = [("lr_scheduler", scheduler), ("divergence", DivergenceGuard())]
        if self.ema_decay is not None:
            callbacks.append(("weight_average", WeightAverage(self.ema_decay)))
        if valid is not None:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_loss",
                        patience=self.n_iter_no_change,
                        sink=print if self.verbose else _silent,
                    ),
                )
            )
        user_callbacks = copy.deepcopy(list(self.callbacks or []))
        _check_monitored_scores(user_callbacks, valid is not None)
        callbacks += user_callbacks
        net = PseudoLabelNet(
            DropoutCNN if self.module is None else self.module,
            **self._build_module_params(image_shape, len(classes), channels),
            criterion=torch.nn.CrossEntropyLoss,
            optimizer=torch.optim.SGD,
            optimizer__momentum=self.momentum,
            optimizer__nesterov=self.nesterov,
            optimizer__weight_decay=self.weight_decay,
            lr=self.lr,
            batch_size=self.batch_size,
            train_split=None if valid is None else predefined_split(valid),
            dataset=TensorDataset,
            classes=classes,
            callbacks=callbacks,
            device=self.device,
            verbose=self.verbose,
            alpha_f=self.alpha_f if alpha_f is None else alpha_f,
            **schedule,
            refresh=self.refresh,
            batch_size_unlabeled=self.batch_size_unlabeled,
            seed=seed,
            precision=resolve_precision(self.precision, self.device),
            **self._build_parts(augmenters),
        )
        return net.initialize()

    @property
    def history_(self):
        """Per-epoch training record (skorch ``History``)."""
        check_is_fitted(self, "net_")
        return self.net_.history

    @property
    def _predicting_net(self):
        """The net that predicts: the student's, if there is one."""
        check_is_fitted(self, "net_")
        # getattr: models pickled before the student round have no student_net_.
        student = getattr(self, "student_net_", None)
        return self.net_ if student is None else student

    @property
    def module_(self):
        """The trained :class:`DropoutCNN` that predicts."""
        return self._predicting_net.module_

    @property
    def test_time_augmentation_(self):
        """Whether predictions average the warps (``test_time_augmentation``)."""
        check_is_fitted(self, "net_")
        return getattr(self, "_test_time_views", None) is not None

    def _image_tensor(self, X):
        check_is_fitted(self)
        X, array_shape = flatten_images(X)
        X = validate_data(self, X, reset=False, dtype=IMAGE_DTYPES)
        if array_shape is not None and array_shape != self.image_shape_:
            raise ValueError(
                f"X holds images of shape {array_shape}; this estimator was "
                f"fitted on images of shape {self.image_shape_}."
            )
        return as_image_tensor(X, self.image_shape_, self.net_.device)

    def predict_proba(self, X):
        """Class probabilities (softmax of the network's output, no dropout).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, H, W) \
                or (n_samples, C, H, W)
            Images, as in ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``.
        """
        X = self._image_tensor(X)
        # On the device, then one copy to the host (skorch's predict_proba
        # copies every batch, a device sync each). getattr: models pickled
        # before test_time_augmentation have no views.
        views = getattr(self, "_test_time_views", None)
        return _predict_proba(self._predicting_net, views, X).cpu().numpy()

    def predict(self, X):
        """Most probable class of each image.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, H, W) \
                or (n_samples, C, H, W)
            Images, as in ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Values of ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y, sample_weight=None):
        """Accuracy on the labeled rows; rows with ``y == -1`` are ignored.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, H, W) \
                or (n_samples, C, H, W)
            Images, as in ``fit``.

        y : array-like of shape (n_samples,)
            True labels, -1 for rows to ignore.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean accuracy over the labeled rows.
        """
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y, sample_weight)
        labeled = np.flatnonzero(~unlabeled_mask(y))
        if len(labeled) == 0:
            raise ValueError("Cannot score: every value of y is -1 (unlabeled).")
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight)[labeled]
        return accuracy_score(
            y[labeled],
            self.predict(_safe_indexing(X, labeled)),
            sample_weight=sample_weight,
        )
