"""PseudoLabelCNNClassifier: parameters, the outline of ``fit``, prediction.

A plain scikit-learn estimator around skorch nets (composition, not a skorch
subclass, so that ``classes_`` excludes -1, ``predict`` returns labels and
the estimator checks pass): ``fit`` validates, resolves the plan and runs the
stages, each in its own module.
"""

from contextlib import nullcontext

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.utils import _safe_indexing, column_or_1d
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
)

from ._build import TrainingData
from ._checkpoint import open_store
from ._checks import check_fit_data, check_predict_data, validation_split
from ._guards import all_or_nothing, fit_guards
from ._params import PARAMETER_CONSTRAINTS, ModuleParamsMixin, check_parameters
from ._plan import resolve_plan
from ._progress import fit_progress
from ._pseudo_label import train_pseudo_label_net
from ._students import train_students
from ._test_time import predict_labels, predict_proba
from ._validation import unlabeled_mask

__all__ = ["PseudoLabelCNNClassifier"]


class PseudoLabelCNNClassifier(ModuleParamsMixin, ClassifierMixin, BaseEstimator):
    """Dropout CNN trained with Pseudo-Label on labeled and unlabeled images.

    Rows of ``y`` equal to -1 are unlabeled, as in
    :mod:`sklearn.semi_supervised`. Each training step takes a labeled batch
    and an unlabeled batch and minimises (Lee, 2013)::

        loss = CE(labeled) + α(t) · mean_unlabeled mask · CE(pseudo-label)

    where a teacher network predicts the pseudo-labels, and α(t) ramps from
    0 at epoch ``T1`` to ``alpha_f`` at ``T2`` (:func:`alpha_schedule`).
    Then, with many unlabeled rows, *students* (fresh networks, each on the
    labels of the one before) train, and the last network labels the
    unlabeled rows (``transduction_``). Every ``"auto"`` setting is resolved
    once per fit and shown as a fitted attribute (``max_epochs_``, ...).

    Read more in the :doc:`User Guide </user_guide>`.

    Parameters
    ----------
    alpha_f : float, default=1.0
        Final weight of the pseudo-label loss. ``0`` disables pseudo-labels.

    T1 : int or float, default=0.0
        Last epoch at which the weight is 0: an int is an epoch, a float in
        [0, 1] a fraction of the run (``round(T1 * max_epochs_)``).

    T2 : int, float or None, default=None
        Epoch from which the weight is ``alpha_f``, as ``T1``; at least
        ``T1_``. None: a tenth of the run after ``T1``.

    refresh : {"epoch", "batch"}, default="batch"
        When the teacher labels: the whole unlabeled set at the start of each
        epoch (the reference experiment), or each unlabeled batch at its step
        (Lee, 2013).

    teacher : {"eval", "training_pass"} or Teacher, default="eval"
        Who predicts the pseudo-labels. ``"eval"``: an eval-mode pass of the
        predicting network (the weight average with ``ema_decay``) on the
        un-augmented images. ``"training_pass"``: the training forward pass
        itself (Lee, 2013); needs ``refresh="batch"`` and no ``ema_decay``. A
        :class:`~sklearn_pseudolabel.parts.Teacher` instance is used as given.

    targets : {"hard", "soft"} or Targets, default="hard"
        ``"hard"``: the most probable class (Lee); ``"soft"``: the teacher's
        probabilities sharpened by ``temperature``; or a
        :class:`~sklearn_pseudolabel.parts.Targets` instance.

    temperature : float, default=1.0
        Sharpening temperature of ``targets="soft"`` (``p^(1/T)``,
        renormalised); must stay 1 otherwise.

    distribution_alignment : bool, default=False
        Align the teacher's probabilities with the labeled class frequencies
        (:class:`~sklearn_pseudolabel.parts.DistributionAlignment`).

    mask : {"fixed", "class_adaptive"} or Mask, default="fixed"
        How much each pseudo-label counts. ``"fixed"``: those whose
        probability reaches ``threshold`` (all with None);
        ``"class_adaptive"``: class-wise thresholds up to ``threshold``,
        lower for classes not learned yet (FlexMatch); or a
        :class:`~sklearn_pseudolabel.parts.Mask` (with ``threshold=None``).

    threshold : float or None, default=0.95
        Confidence threshold of ``mask`` (Arazo et al., 2019); rejected
        pseudo-labels count as zero in the mean.

    batch_size : int, default=64
        Labeled images per step.

    batch_size_unlabeled : int, default=448
        Unlabeled images per step. An epoch is one pass over the larger of
        the two streams; the smaller one is cycled.

    max_epochs : int or "auto", default="auto"
        Number of Pseudo-Label epochs. ``"auto"``: 60, or 45 when students
        follow, or more so that training makes at least 1,500 optimizer steps
        (a small data set has epochs of a few steps).

    student_epochs : int or "auto", default="auto"
        Epochs of each student: a fresh network (``student_channels``)
        trained on every row, the unlabeled ones under the labels the network
        before it predicts, with ``augmenter`` and dropout as noise (Noisy
        Student, Xie et al., 2020). ``"auto"``: with at least 10,000
        unlabeled rows, 10 epochs for the wide students of
        ``student_channels="auto"`` and 20 for others (or enough for 1,500
        steps); with fewer, none, as a small pool teaches a fresh network
        too little. No student without pseudo-labels.

    student_rounds : int or "auto", default="auto"
        Students, one after the other, each on the labels of the network
        before it; the last one predicts. ``"auto"``: 2.

    student_channels : tuple of int, "auto" or None, default="auto"
        Convolution channels of the students (one per layer; the default
        :class:`DropoutCNN` only). ``"auto"``: twice ``channels``, as Noisy
        Student's students are at least as large as their teacher (a user
        module's network otherwise). None: ``channels``.

    lr : float, default=0.05
        Learning rate of SGD.

    lr_decay : float or "cosine", default="cosine"
        Per-epoch factor of the learning rate
        (:class:`~torch.optim.lr_scheduler.ExponentialLR`), or a half cosine
        over each network's epochs
        (:class:`~torch.optim.lr_scheduler.CosineAnnealingLR`).

    momentum : float, default=0.9
        SGD momentum.

    nesterov : bool, default=True
        Nesterov's accelerated gradient instead of classical momentum.

    weight_decay : float, default=5e-4
        L2 penalty of SGD.

    module : torch.nn.Module class, callable or None, default=None
        The network. None: :class:`DropoutCNN` built from the parameters
        below. Otherwise a class or function called as
        ``module(input_shape=(C, H, W), n_classes=k, **params)`` with the
        ``module__<name>`` parameters, as in skorch, mapping batches
        ``(n, C, H, W)`` to logits.

    channels : tuple of int, default=(16, 32, 64)
        Output channels of the convolution layers of :class:`DropoutCNN`.

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
        ``(H, W)`` or ``(C, H, W)`` of one image of a 2-D ``X``. None: a
        square grey image, or one row of pixels for a non-square count.

    augmenter : "auto", ImageAugmenter, RandomDistortion or None, \
            default="auto"
        Applied on the fly, on the training device, to every labeled batch;
        any object with ``augment_tensor(X, generator)``. ``"auto"``: a weak
        :class:`RandomDistortion` (rotation up to 10°, scale and translation
        up to 10 %) in the images' pixel range, drawing a horizontal stroke
        across half of them so that a bar across a character does not change
        it; none for rows of features.

    augmenter_unlabeled : "auto", ImageAugmenter, RandomDistortion or None, \
            default="auto"
        The trained network's view of the unlabeled images, which the teacher
        labels clean (FixMatch's consistency), from epoch
        ``unlabeled_view_start_`` on. ``"auto"``: the weak view of
        ``augmenter="auto"`` without strokes; none for rows of features.
        None: the clean images.

    unlabeled_view_start : int, float or "auto", default="auto"
        First Pseudo-Label epoch in which the trained network sees
        ``augmenter_unlabeled``'s view of the unlabeled images (before it, the
        clean images), as ``T1``: an int is an epoch, a float in [0, 1] a
        fraction of the run. ``"auto"``: half the run: a view from the first
        epoch can move one class's images into another while the teacher's
        labels are still forming. No effect without ``augmenter_unlabeled``.

    test_time_augmentation : bool or "auto", default="auto"
        Average the probabilities of the image and 8 fixed warps of it
        (rotations by ±8°, zooms by ±8 %, shifts by ±5 % of the side), in
        every prediction and the labels the students learn: 9 forward passes
        instead of one. ``"auto"``: on with ``augmenter="auto"``, whose weak
        view the networks learned.

    ema_decay : float in [0, 1) or None, default=0.99
        Decay of an exponential moving average of the weights
        (:class:`~sklearn_pseudolabel.callbacks.WeightAverage`): the teacher
        (a "mean teacher") and the fitted model. None: the raw weights.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the labeled rows (stratified),
        record ``valid_loss`` and ``valid_acc`` after every epoch, and stop a
        network when ``valid_loss`` has not improved for ``n_iter_no_change``
        epochs, as :class:`~sklearn.neural_network.MLPClassifier` does.

    validation_fraction : float in (0, 1), default=0.1
        Share of the labeled rows held out with ``early_stopping``.

    n_iter_no_change : int, default=10
        Epochs without improvement of ``valid_loss`` before stopping.

    callbacks : list of skorch callbacks or None, default=None
        Extra skorch callbacks, copied for each network (``net_.callbacks_``).
        Besides skorch's arguments, ``on_batch_end`` of a training step gets
        ``loss_labeled`` (a 0-d tensor) and ``unlabeled``: None for a step
        without unlabeled images, else ``(loss, weights, labels, pos)``, the
        unlabeled loss, the mask's weights (None when every pseudo-label
        counts), the pseudo-labels (class indices) and the images' positions
        among the unlabeled rows of ``X``, in their order; all on the
        training device.

    device : str, default="cpu"
        Torch device for training and prediction, e.g. ``"cuda"``.

    checkpoint_dir : str, path-like or None, default=None
        Save the fit's state after every epoch of every stage to
        ``checkpoint.pt`` in this folder, so that a ``fit`` interrupted by a
        crash or a kill resumes where it stopped when called again on the
        same data with the same parameters; the file is removed when the fit
        completes. A checkpoint of other data or parameters is refused.

    precision : {"auto", "float32", "bfloat16"}, default="auto"
        Precision of the forward passes; ``"bfloat16"`` runs them under
        ``torch.autocast`` (weights, gradients and losses stay float32).
        ``"auto"``: ``"bfloat16"`` on a CPU with Intel AMX, which runs it
        natively, else ``"float32"``.

    random_state : int, RandomState instance or None, default=None
        Seeds weights, dropout, batch order and augmentation: the same value
        gives the same model on CPU. torch's global RNG is left as it was.

    verbose : int, default=0
        0: silent. 1: one progress bar for the whole fit (the stage, epochs
        done of the total, elapsed and remaining time). 2 or more: skorch's
        per-epoch table of each network.

    **module_params : dict
        ``module__<name>`` parameters for a user ``module``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels of the labeled rows (never -1).

    n_features_in_ : int
        Number of features (pixels × channels) per sample.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    image_shape_ : tuple of int
        ``(C, H, W)`` of one image.

    max_epochs_, T1_, T2_ : int
        Pseudo-Label epochs planned, and the epochs of ``T1`` and ``T2``.

    student_rounds_, student_epochs_ : int
        Students trained, and epochs planned for each; 0 without a student.

    student_channels_ : tuple of int or None
        The students' channels; None without a student or with a user module.

    augmenter_, augmenter_unlabeled_ : object or None
        The on-the-fly views of the labeled and unlabeled images.

    unlabeled_view_start_ : int
        First epoch of the unlabeled images' view.

    test_time_augmentation_ : bool
        Whether predictions average the warps of ``test_time_augmentation``.

    precision_ : {"float32", "bfloat16"}
        Precision of the forward passes.

    inference_batch_size_ : int
        Images per batch of the passes that only predict, by device: large
        on a GPU, small enough for a CPU's caches.

    transduction_ : ndarray of shape (n_samples,)
        Label of every training row: the given one, or the final network's.

    history_ : skorch.history.History
        Per-epoch record of the Pseudo-Label network: ``alpha``, ``lr``,
        ``train_loss``, ``train_loss_labeled``, ``train_loss_unlabeled``,
        ``pseudo_label_confident`` (the share kept by the mask),
        ``pseudo_label_changed`` (the share of unlabeled images whose
        pseudo-label changed over the epoch) and ``dur``.

    n_iter_ : int
        Pseudo-Label epochs run (fewer than ``max_epochs_`` after an early stop).

    net_ : PseudoLabelNet
        The skorch net trained with Pseudo-Label.

    student_net_ : PseudoLabelNet or None
        The last student's skorch net, which predicts; None without a student.

    student_histories_ : list of skorch.history.History
        Per-epoch record of each student, in order. Empty without a student.

    module_ : torch.nn.Module
        The trained torch module that predicts.

    See Also
    --------
    sklearn.semi_supervised.SelfTrainingClassifier : Pseudo-labels a base
        estimator's confident predictions, round by round.
    sklearn.semi_supervised.LabelSpreading : Graph-based label propagation.

    Notes
    -----
    Pixel scale: ``uint8`` input is divided by 255; any other dtype is used as
    given (scale it yourself, e.g. to [0, 1]).

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

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_pseudolabel import PseudoLabelCNNClassifier, hide_labels
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> y_partial = hide_labels(y, n_labeled=200, random_state=0)
    >>> clf = PseudoLabelCNNClassifier(
    ...     max_epochs=4, T1=0.25, T2=0.75, channels=(8, 16, 16), random_state=0
    ... ).fit(X, y_partial)
    >>> clf.classes_
    array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    >>> clf.T1_, clf.T2_
    (1, 3)
    >>> clf.history_[:, "alpha"]
    [0.0, 0.0, 0.5, 1.0]
    >>> clf.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = PARAMETER_CONSTRAINTS

    def __init__(
        self,
        *,
        alpha_f=1.0,
        T1=0.0,
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
        augmenter_unlabeled="auto",
        unlabeled_view_start="auto",
        test_time_augmentation="auto",
        ema_decay=0.99,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        callbacks=None,
        device="cpu",
        checkpoint_dir=None,
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
        self.unlabeled_view_start = unlabeled_view_start
        self.test_time_augmentation = test_time_augmentation
        self.ema_decay = ema_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.callbacks = callbacks
        self.device = device
        self.checkpoint_dir = checkpoint_dir
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose
        # Stored as given and checked at fit, as every parameter.
        vars(self).update(module_params)

    @_fit_context(prefer_skip_nested_validation=True)
    @all_or_nothing
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
        check_parameters(self)
        X, y_encoded, classes, image_shape = check_fit_data(self, X, y)
        unlabeled = y_encoded < 0
        plan = resolve_plan(
            self, X, image_shape, int((~unlabeled).sum()), int(unlabeled.sum())
        )
        split = validation_split(self, y_encoded, plan.seed)
        with (
            fit_guards(self.device) as ctrl_c,
            fit_progress(plan.total_epochs, self.verbose, plan.rank) as progress,
        ):
            torch.manual_seed(plan.seed + plan.rank)
            store = open_store(self, X, y_encoded, plan, ctrl_c)
            data = TrainingData.from_arrays(
                X, y_encoded, classes, image_shape, self.device, split
            )
            net = train_pseudo_label_net(self, plan, data, progress, store)
            ctrl_c.check()
            student, histories = train_students(
                self, plan, data, net, progress, ctrl_c, store
            )
            final = net if student is None else student
            with progress.predicting() if progress else nullcontext():
                labels = predict_labels(final, plan, data.X, data.y)
            if store is not None:
                store.remove()
        for name, value in plan.fitted_attributes().items():
            setattr(self, name + "_", value)
        self.classes_ = classes
        self.image_shape_ = image_shape
        self.transduction_ = classes[labels]
        self.net_ = net
        self.student_net_ = student
        self.student_histories_ = histories
        self.n_iter_ = len(net.history)
        self._test_time_views = plan.test_time_views
        return self

    @property
    def history_(self):
        """The Pseudo-Label network's per-epoch record (skorch ``History``)."""
        check_is_fitted(self, "net_")
        return self.net_.history

    @property
    def _predicting_net(self):
        """The net that predicts: the last student's, if there is one."""
        check_is_fitted(self, "net_")
        return self.net_ if self.student_net_ is None else self.student_net_

    @property
    def module_(self):
        """The trained :class:`DropoutCNN` that predicts."""
        return self._predicting_net.module_

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
        X = check_predict_data(self, X)
        # On the device, then one copy to the host (skorch's predict_proba
        # copies every batch, a device sync each).
        net = self._predicting_net
        return predict_proba(net, self._test_time_views, X).cpu().numpy()

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
