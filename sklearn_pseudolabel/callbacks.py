"""skorch callbacks for PseudoLabelCNNClassifier."""

import numpy as np
import torch
from sklearn.utils import check_array, column_or_1d
from skorch.callbacks import Callback

from ._validation import IMAGE_DTYPES, as_image_tensor

__all__ = ["HeldOutAccuracy"]


class HeldOutAccuracy(Callback):
    """Accuracy on a held-out labeled set after every epoch.

    :class:`PseudoLabelCNNClassifier` trains on all the rows it is given (no
    internal validation split, so that GridSearchCV's outer split is not
    duplicated and unlabeled rows never leak into validation). To follow
    generalisation during training, pass a separate labeled set through this
    callback: at the end of each epoch it scores the network (eval mode, no
    dropout, under ``torch.inference_mode``) and records the accuracy in the
    history as ``name``, plus ``name + "_best"``, so that skorch's
    ``EarlyStopping(monitor=name, lower_is_better=False)`` and
    ``Checkpoint(monitor=name + "_best")`` can use it.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), (n_samples, H, W) \
            or (n_samples, C, H, W)
        Held-out images, in the same format and pixel scale as for ``fit``.

    y : array-like of shape (n_samples,)
        Their labels, all among the classes of the labeled training rows.

    name : str, default="valid_acc"
        History key.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_pseudolabel import PseudoLabelCNNClassifier, hide_labels
    >>> from sklearn_pseudolabel.callbacks import HeldOutAccuracy
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> clf = PseudoLabelCNNClassifier(
    ...     max_epochs=3, T1=1, T2=2, channels=(8, 16, 16), random_state=0,
    ...     callbacks=[HeldOutAccuracy(X[1500:], y[1500:])],
    ... ).fit(X[:1500], hide_labels(y[:1500], 300, random_state=0))
    >>> len(clf.history_[:, "valid_acc"])
    3
    """

    def __init__(self, X, y, name="valid_acc"):
        self.X = X
        self.y = y
        self.name = name

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Convert the held-out set once, to the training device."""
        X_val = check_array(self.X, allow_nd=True, dtype=IMAGE_DTYPES)
        y_val = column_or_1d(self.y)
        if len(X_val) != len(y_val):
            raise ValueError(
                f"HeldOutAccuracy got {len(X_val)} images but {len(y_val)} labels."
            )
        classes = np.asarray(net.classes_)
        index = np.searchsorted(classes, y_val).clip(0, len(classes) - 1)
        if not np.array_equal(classes[index], y_val):
            unknown = np.setdiff1d(y_val, classes).tolist()
            raise ValueError(
                f"HeldOutAccuracy labels {unknown} are not among the classes of "
                f"the labeled training rows {classes.tolist()}."
            )
        shape = tuple(net.module_.input_shape)
        self.X_ = as_image_tensor(X_val.reshape(len(X_val), -1), shape, net.device)
        self.y_ = torch.as_tensor(index, device=net.device)
        self.best_ = -np.inf

    def on_epoch_end(self, net, **kwargs):
        """Score the current network and record it."""
        correct = net.predict_logits(self.X_).argmax(dim=1) == self.y_
        accuracy = correct.float().mean().item()
        net.history.record(self.name, accuracy)
        is_best = accuracy > self.best_
        self.best_ = max(self.best_, accuracy)
        net.history.record(self.name + "_best", is_best)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """Release the device copy of the held-out set."""
        del self.X_, self.y_
