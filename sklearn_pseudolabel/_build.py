"""The pieces every stage of a fit shares: its data on the device, its nets."""

import copy
from dataclasses import dataclass

import numpy as np
import torch
from skorch.callbacks import EarlyStopping, LRScheduler
from skorch.helper import predefined_split

from . import parts
from ._batches import TensorDataset
from ._checkpoint import StageCheckpoint
from ._cnn import DropoutCNN
from ._disk import DiskImages
from ._net import PseudoLabelNet
from ._validation import as_image_tensor
from .callbacks import DivergenceGuard, HeldOutAccuracy, WeightAverage
from .parts._pool import EpochPool

__all__ = ["CNN_PARAMS", "TrainingData", "build_net"]

#: The estimator's parameters of the default DropoutCNN.
CNN_PARAMS = (
    "channels",
    "kernel_sizes",
    "dropout",
    "activation",
    "batch_norm",
    "hidden_units",
    "init",
)


@dataclass(frozen=True)
class TrainingData:
    """A fit's images and targets on the training device.

    Attributes
    ----------
    X, y : torch.Tensor or DiskImages
        Every row: images ``(n, C, H, W)`` and class indices, -1 unlabeled.

    X_train, y_train : torch.Tensor or DiskImages
        The rows trained on (all but the validation rows).

    valid : TensorDataset or None
        The labeled rows held out by ``early_stopping``.

    classes : ndarray
        The class labels, in the order of the class indices.

    image_shape : tuple of int
        ``(C, H, W)``.
    """

    X: torch.Tensor
    y: torch.Tensor
    X_train: torch.Tensor
    y_train: torch.Tensor
    valid: TensorDataset | None
    classes: np.ndarray
    image_shape: tuple

    @classmethod
    def from_arrays(cls, X, y, classes, image_shape, device, split=(None, None)):
        """Copy validated rows ``X`` and encoded ``y`` to ``device``.

        ``split`` holds the training and validation row indices (tensors), or
        ``(None, None)`` to train on every row. Images on disk
        (:class:`~sklearn_pseudolabel._disk.DiskImages`) stay there; the
        held-out rows are read into memory.
        """
        on_disk = isinstance(X, DiskImages)
        X = X if on_disk else as_image_tensor(X, image_shape, device)
        y = torch.as_tensor(y, device=device)
        train, valid = split
        if valid is None:
            return cls(X, y, X, y, None, classes, image_shape)
        return cls(
            X,
            y,
            X.subset(train) if on_disk else X[train],
            y[train],
            TensorDataset(X[valid], y[valid]),
            classes,
            image_shape,
        )


def build_net(
    estimator,
    plan,
    data,
    *,
    seed,
    max_epochs,
    T1=0,
    T2=0,
    alpha_f=0.0,
    augmenters=(None, None),
    unlabeled_view_start=0,
    channels=None,
    progress=None,
    checkpoint=False,
):
    """Return an initialized :class:`PseudoLabelNet` for one stage of a fit.

    The network, optimizer, callbacks and step parts come from
    ``estimator``'s hyperparameters, the precision and inference batch size
    from ``plan``; the arguments set what differs between stages: the α
    schedule (``max_epochs``, ``T1``, ``T2``, ``alpha_f``), the labeled and
    unlabeled views (``augmenters``) and the first epoch of the unlabeled
    one (``unlabeled_view_start``), the convolution ``channels`` (None: the
    estimator's), ``progress``, a skorch callback or None, and
    ``checkpoint``, whether the net saves its state after every epoch (a
    :class:`~sklearn_pseudolabel._checkpoint.StageCheckpoint`, last).
    """
    callbacks = _callbacks(estimator, max_epochs, data.valid is not None)
    if progress is not None:
        callbacks.append(("progress", progress))
    if checkpoint:
        callbacks.append(("checkpoint", StageCheckpoint()))
    net = PseudoLabelNet(
        DropoutCNN if estimator.module is None else estimator.module,
        **_module_params(estimator, data.image_shape, len(data.classes), channels),
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.SGD,
        optimizer__momentum=estimator.momentum,
        optimizer__nesterov=estimator.nesterov,
        optimizer__weight_decay=estimator.weight_decay,
        lr=estimator.lr,
        batch_size=estimator.batch_size,
        train_split=None if data.valid is None else predefined_split(data.valid),
        dataset=TensorDataset,
        classes=data.classes,
        callbacks=callbacks,
        device=estimator.device,
        verbose=int(estimator.verbose >= 2 and plan.rank == 0),
        alpha_f=alpha_f,
        max_epochs=max_epochs,
        T1=T1,
        T2=T2,
        batch_size_unlabeled=estimator.batch_size_unlabeled,
        seed=seed,
        precision=plan.precision,
        inference_batch_size=plan.inference_batch_size,
        rank=plan.rank,
        world_size=plan.world_size,
        **_parts(estimator, augmenters, unlabeled_view_start),
    )
    return net.initialize()


def _callbacks(estimator, max_epochs, validating):
    """Return the named callbacks of a stage's net, the user's copied last."""
    if estimator.lr_decay == "cosine":
        scheduler = LRScheduler(
            policy=torch.optim.lr_scheduler.CosineAnnealingLR, T_max=max_epochs
        )
    else:
        scheduler = LRScheduler(
            policy=torch.optim.lr_scheduler.ExponentialLR, gamma=estimator.lr_decay
        )
    callbacks = [("lr_scheduler", scheduler), ("divergence", DivergenceGuard())]
    if estimator.ema_decay is not None:
        callbacks.append(("weight_average", WeightAverage(estimator.ema_decay)))
    if validating:
        stopping = EarlyStopping(
            monitor="valid_loss",
            patience=estimator.n_iter_no_change,
            sink=print if estimator.verbose >= 2 else _silent,
        )
        callbacks.append(("early_stopping", stopping))
    user_callbacks = copy.deepcopy(list(estimator.callbacks or []))
    _check_monitored_scores(user_callbacks, validating)
    return callbacks + user_callbacks


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


def _parts(estimator, augmenters, unlabeled_view_start):
    """Build the parts of the training step from the hyperparameters."""
    # User instances are copied (parts keep per-fit state); the built-in
    # ones are new, and augmenters are only read.
    teacher = copy.deepcopy(estimator.teacher)
    if isinstance(teacher, str):
        teacher = {
            "eval": parts.EvalTeacher,
            "training_pass": parts.TrainingPassTeacher,
        }[teacher]()
    targets = copy.deepcopy(estimator.targets)
    if isinstance(targets, str):
        targets = (
            parts.HardTargets()
            if targets == "hard"
            else parts.SoftTargets(estimator.temperature)
        )
    mask = copy.deepcopy(estimator.mask)
    if mask == "class_adaptive":
        mask = parts.ClassAdaptiveThreshold(estimator.threshold)
    elif mask == "fixed":
        mask = (
            parts.KeepAll()
            if estimator.threshold is None
            else parts.FixedThreshold(estimator.threshold)
        )
    alignment = (
        parts.DistributionAlignment()
        if estimator.distribution_alignment
        else parts.Alignment()
    )
    return dict(
        views=parts.Views(*augmenters, unlabeled_start=unlabeled_view_start),
        teacher=teacher,
        alignment=alignment,
        targets=targets,
        mask=mask,
        pool=EpochPool() if estimator.refresh == "epoch" else None,
    )


def _module_params(estimator, image_shape, n_classes, channels=None):
    """Return the ``module__<name>`` parameters of the stage's network."""
    params = dict(input_shape=image_shape, n_classes=n_classes)
    if estimator.module is None:
        params.update({name: getattr(estimator, name) for name in CNN_PARAMS})
        if channels is not None:
            params["channels"] = channels
        for name in ("channels", "kernel_sizes"):
            params[name] = tuple(params[name])
    else:
        params.update(
            {k[len("module__") :]: v for k, v in estimator._module_params().items()}
        )
    return {f"module__{k}": v for k, v in params.items()}
