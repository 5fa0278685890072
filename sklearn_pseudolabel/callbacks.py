"""skorch callbacks for PseudoLabelCNNClassifier."""

import copy
import itertools
import math
from math import prod

import numpy as np
import torch
from sklearn.utils import check_array, column_or_1d
from skorch.callbacks import Callback

from ._validation import IMAGE_DTYPES, as_image_tensor

__all__ = ["DivergenceGuard", "HeldOutAccuracy", "WeightAverage"]


class WeightAverage(Callback):
    """Exponential moving average of the weights, the predicting network.

    Updated after every optimizer step, buffers such as batch-norm statistics
    included, with no device sync (unlike
    :class:`torch.optim.swa_utils.AveragedModel`, whose step counter is a
    device tensor read on the host twice per update)::

        w_avg = d_t * w_avg + (1 - d_t) * w,   d_t = min(decay, (1 + t) / (10 + t))

    where ``t`` counts the steps. The warm-up of ``d_t`` (as in TensorFlow's
    ``ExponentialMovingAverage`` with ``num_updates``) keeps the average from
    dragging early, poor weights through a short run: after 22 steps it spans
    about 4 steps, whatever ``decay`` is. While training, the net's
    :meth:`~PseudoLabelNet.predict_logits` (pseudo-labels, held-out scores)
    uses the average; at the end of training its weights become the module's,
    so that prediction and pickling need nothing else.

    Parameters
    ----------
    decay : float
        Upper limit of the per-step decay, in [0, 1); the average spans about
        ``1 / (1 - decay)`` steps once warmed up.
    """

    def __init__(self, decay):
        self.decay = decay

    def initialize(self):
        """Check ``decay``."""
        if not 0 <= self.decay < 1:
            raise ValueError(f"ema_decay must be in [0, 1); got {self.decay}.")
        return super().initialize()

    def on_train_begin(self, net, **kwargs):
        """Start the average at the module's current weights."""
        self.steps_ = 0
        # The average never trains: in eval mode for good, so that using it
        # as the teacher switches no modes (predict_logits).
        self.model_ = copy.deepcopy(net.module_).requires_grad_(False).eval()
        # The optimizer and batch norm update the live tensors in place, so
        # the pairs hold for the whole run.
        floats, self.counters_ = [], []
        for pair in zip(_tensors(self.model_), _tensors(net.module_)):
            (floats if pair[0].is_floating_point() else self.counters_).append(pair)
        self.floats_ = tuple(map(list, zip(*floats)))

    def on_batch_end(self, net, training=False, **kwargs):
        """Fold the new weights into the average."""
        if not training:
            return
        self.decay_ = min(self.decay, (1 + self.steps_) / (10 + self.steps_))
        # One fused update of the floats (the first step takes the weights:
        # lerp by 1 returns its end exactly); counters such as
        # num_batches_tracked are copied. The step count and decay live on
        # the host: no device sync.
        weight = 1.0 - self.decay_ if self.steps_ else 1.0
        with torch.no_grad():
            if self.floats_:
                torch._foreach_lerp_(*self.floats_, weight)
            for averaged, current in self.counters_:
                averaged.copy_(current)
        self.steps_ += 1

    @property
    def module_(self):
        """The averaged network, once it has seen a step; else None."""
        model = getattr(self, "model_", None)
        return model if model is not None and self.steps_ else None

    def on_train_end(self, net, **kwargs):
        """Give the module the averaged weights; drop the copy."""
        if self.module_ is not None:
            net.module_.load_state_dict(self.model_.state_dict())
        for name in ("model_", "floats_", "counters_", "decay_", "steps_"):
            self.__dict__.pop(name, None)


def _tensors(module):
    """Return the parameters, then the buffers, of ``module``."""
    return itertools.chain(module.parameters(), module.buffers())


class DivergenceGuard(Callback):
    """Stop training with a clear error when the loss diverges or stalls.

    Checked at the end of each epoch, from the history (the net records the
    epoch's step losses with one device read after its last step):

    - a step's loss that is NaN or infinite;
    - an epoch whose mean labeled cross-entropy exceeds ``max_loss_ratio``
      times the larger of the lowest earlier epoch's and that of a uniform
      guess, ``log(n_classes)``: weights that exploded (too large a learning
      rate) get there long before the loss overflows. The first epoch, which
      starts from random weights, gets 1,000 times more room;
    - ``patience`` epochs in a row whose mean labeled loss stays above
      ``max_loss_ratio`` times that of a uniform guess: a network stuck far
      above the untrained level;
    - ``patience`` epochs in a row whose labeled loss neither falls below
      its best nor below twice a uniform guess's while the network gives one
      class to nearly every labeled training image (at least
      ``collapse_share`` of them): a network that collapsed to one class,
      confidently, and stopped learning (an untrained network that hesitates
      has a uniform guess's loss). Only such epochs pay for the check, a
      pass over up to 1,024 labeled images.

    Parameters
    ----------
    max_loss_ratio : float, default=10.0
        Largest growth of the epoch's mean labeled loss.

    patience : int, default=3
        Epochs in a row that a stalled or collapsed network is given.

    collapse_share : float, default=0.99
        Share of the labeled images in one class that counts as a collapse.
    """

    def __init__(self, max_loss_ratio=10.0, patience=3, collapse_share=0.99):
        self.max_loss_ratio = max_loss_ratio
        self.patience = patience
        self.collapse_share = collapse_share

    def on_train_begin(self, net, **kwargs):
        """Forget the losses of an earlier fit."""
        self.best_ = math.inf
        self.stalled_ = self.collapsed_ = 0

    def on_epoch_end(self, net, **kwargs):
        """Raise ``FloatingPointError`` when the loss exploded or stalled."""
        for batch in net.history[-1].get("batches", ()):
            loss = batch.get("train_loss", 0.0)
            if not math.isfinite(loss):
                self._diverged(net, f"the loss is {loss:.4g}")
        loss = net.history[-1].get("train_loss_labeled")
        if loss is None or not math.isfinite(loss):
            return
        uniform = math.log(max(len(net.classes_), 2))
        limit = self.max_loss_ratio * max(self.best_, uniform)
        if math.isinf(self.best_):
            limit = 1000 * self.max_loss_ratio * uniform
        if loss > limit:
            self._diverged(
                net, f"the mean labeled loss is {loss:.4g} (more than {limit:.3g})"
            )
        improved = loss < self.best_
        self.best_ = min(self.best_, loss)
        stalled = loss > self.max_loss_ratio * uniform
        self.stalled_ = self.stalled_ + 1 if stalled else 0
        if self.stalled_ >= self.patience:
            self._diverged(
                net,
                f"the mean labeled loss stayed above {self.max_loss_ratio:g} "
                f"times that of a uniform guess ({uniform:.3g}) for "
                f"{self.patience} epochs, now {loss:.4g}",
            )
        collapsed = (
            loss >= 2 * uniform
            and not improved
            and self._top_class_share(net) >= self.collapse_share
        )
        self.collapsed_ = self.collapsed_ + 1 if collapsed else 0
        if self.collapsed_ >= self.patience:
            self._diverged(
                net,
                f"the network gave one class to {self.collapse_share:.0%} or "
                f"more of the labeled images for {self.patience} epochs while "
                f"the labeled loss stopped falling, above twice a uniform "
                f"guess's ({uniform:.3g})",
            )

    @staticmethod
    def _top_class_share(net):
        """Return the share of the most predicted class on labeled images."""
        stream = getattr(net, "stream_", None)
        if stream is None or not len(stream.labeled_idx):
            return 0.0
        rows = stream.labeled_idx[:1024]
        labels = net.predict_logits(stream.X, rows).argmax(dim=1)
        return torch.bincount(labels).max().item() / len(rows)

    def _diverged(self, net, what):
        alpha = getattr(net, "alpha_", 0.0)
        raise FloatingPointError(
            f"Training diverged at epoch {len(net.history)}: {what}. Lower lr "
            f"(now {net.lr:g}) or alpha_f (now {net.alpha_f:g}, current weight "
            f"{alpha:.4g})."
        )


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
        shape = tuple(net.module__input_shape)
        if X_val[0].size != prod(shape):
            raise ValueError(
                f"HeldOutAccuracy images have {X_val[0].size} values each, but "
                f"the network takes images of shape {shape}: pass them in the "
                "format used for fit."
            )
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
