"""The estimator's parameters: their constraints, ``module__<name>`` ones, checks.

scikit-learn's ``_parameter_constraints`` validate each parameter alone;
:func:`check_parameters` rejects the combinations that contradict each other.
"""

import inspect
import os
from numbers import Integral, Real

import torch
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    RealNotInt,
    StrOptions,
)

from . import parts
from ._build import CNN_PARAMS
from ._cnn import _positive_integers

__all__ = ["PARAMETER_CONSTRAINTS", "ModuleParamsMixin", "check_parameters"]

PARAMETER_CONSTRAINTS = {
    "alpha_f": [Interval(Real, 0, None, closed="left")],
    "T1": [
        Interval(Integral, 0, None, closed="left"),
        Interval(RealNotInt, 0, 1, closed="both"),
    ],
    "T2": [
        Interval(Integral, 0, None, closed="left"),
        Interval(RealNotInt, 0, 1, closed="both"),
        None,
    ],
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
    "unlabeled_view_start": [
        Interval(Integral, 0, None, closed="left"),
        Interval(RealNotInt, 0, 1, closed="both"),
        StrOptions({"auto"}),
    ],
    "test_time_augmentation": ["boolean", StrOptions({"auto"})],
    "ema_decay": [Interval(Real, 0, 1, closed="left"), None],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "callbacks": [list, None],
    "device": [str, torch.device],
    "checkpoint_dir": [str, os.PathLike, None],
    "precision": [StrOptions({"auto", "float32", "bfloat16"})],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


class ModuleParamsMixin:
    """``get_params``/``set_params`` that include ``module__<name>`` parameters.

    As in skorch, a user ``module`` takes its arguments as estimator
    parameters prefixed ``module__``, stored as given and checked at fit.
    """

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
            k: params.pop(k)
            for k in list(params)
            if k.startswith("module__") or k in extra
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


def check_parameters(estimator):
    """Reject settings that contradict each other or would do nothing."""
    module_params = estimator._module_params()
    unknown = [k for k in module_params if not k.startswith("module__")]
    if unknown:
        raise TypeError(
            f"Unexpected parameter(s) {unknown}: only module__<name> parameters "
            "can be added to those of PseudoLabelCNNClassifier."
        )
    _check_schedule(estimator)
    _check_parts(estimator)
    if estimator.module is not None:
        if isinstance(estimator.module, torch.nn.Module):
            raise TypeError(
                "module must be a torch.nn.Module class or a function that "
                "builds one, not an instance: pass its class and its "
                "arguments as module__<name> parameters."
            )
        defaults = inspect.signature(type(estimator)).parameters
        changed = [
            name
            for name in CNN_PARAMS
            if getattr(estimator, name) != defaults[name].default
        ]
        if changed:
            raise ValueError(
                f"{', '.join(changed)} configure the default DropoutCNN and "
                "have no effect with a user module: pass module__<name> "
                "parameters instead."
            )
    elif module_params:
        raise ValueError(
            f"{', '.join(module_params)} need a user module; the "
            "default DropoutCNN takes the flat parameters (channels, ...)."
        )
    _check_student_channels(estimator)


def _check_schedule(estimator):
    """T1 <= T2 when both are of one kind (mixed kinds: at the plan)."""
    T1, T2 = estimator.T1, estimator.T2
    if T2 is not None and isinstance(T1, float) == isinstance(T2, float) and T2 < T1:
        raise ValueError(f"T2 must be >= T1; got T1={T1!r}, T2={T2!r}.")


def _check_parts(estimator):
    """Reject teacher, targets and mask settings that do not go together."""
    if estimator.teacher == "training_pass":
        if estimator.refresh != "batch":
            raise ValueError(
                "teacher='training_pass' labels each batch in its own training "
                "pass: it needs refresh='batch'."
            )
        if estimator.ema_decay is not None:
            raise ValueError(
                "teacher='training_pass' predicts with the weights being "
                "trained; with ema_decay use teacher='eval' (the average "
                "then predicts)."
            )
    if estimator.targets != "soft" and estimator.temperature != 1:
        raise ValueError(
            f"temperature={estimator.temperature} applies to targets='soft' only."
        )
    if estimator.mask == "class_adaptive" and estimator.threshold is None:
        raise ValueError("mask='class_adaptive' needs a threshold.")
    if isinstance(estimator.mask, parts.Mask) and estimator.threshold is not None:
        raise ValueError(
            "threshold applies to the built-in masks: pass threshold=None "
            "with your own Mask (and give it a threshold of its own if it "
            "needs one)."
        )


def _check_student_channels(estimator):
    """Check ``student_channels``: the DropoutCNN's, one per layer."""
    channels = estimator.student_channels
    if channels in (None, "auto"):
        return
    if estimator.module is not None:
        raise ValueError(
            "student_channels configures the default DropoutCNN and has "
            "no effect with a user module."
        )
    n_layers = len(estimator.kernel_sizes)
    if len(channels) != n_layers or not _positive_integers(channels):
        raise ValueError(
            "student_channels must hold one positive integer per "
            f"convolution layer ({n_layers}, as kernel_sizes); got "
            f"{channels!r}."
        )
