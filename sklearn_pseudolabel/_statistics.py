"""The per-epoch statistics of a Pseudo-Label net's training steps."""

import torch
from skorch.callbacks import Callback

from ._distributed import all_mean

__all__ = ["PseudoLabelStatistics"]


class PseudoLabelStatistics(Callback):
    """Record the epoch's losses and pseudo-label statistics in the history.

    Each training step hands its values to ``on_batch_end`` (skorch passes
    the step's dict on): ``loss_labeled``, and ``unlabeled``, a tuple
    ``(loss, weights, labels, pos)`` for a step that used unlabeled images
    (None otherwise; ``weights`` None when every pseudo-label counts). They
    stay on the device and are summed once at the epoch's end, with one
    device read, into ``train_loss_labeled``, ``train_loss_unlabeled``,
    ``pseudo_label_confident`` (the mean mask weight) and
    ``pseudo_label_changed`` (the share of the unlabeled images whose
    pseudo-label changed over the epoch: every epoch that uses them sees
    each one, so the labels it starts from are compared with those it ends
    with).
    """

    def on_train_begin(self, net, **kwargs):
        """Forget the labels of an earlier fit."""
        self.labels_ = self.start_labels_ = None

    def on_epoch_begin(self, net, **kwargs):
        """Start the epoch's records from the labels of the last one."""
        self.losses_labeled_, self.losses_unlabeled_, self.weights_ = [], [], []
        self.seen_ = self.kept_ = 0
        if self.labels_ is not None:
            self.start_labels_ = self.labels_.clone()

    def on_batch_end(
        self, net, training=False, loss_labeled=None, unlabeled=None, **kwargs
    ):
        """Keep a training step's values, on the device."""
        if not training:
            return
        self.losses_labeled_.append(loss_labeled.reshape(1))
        if unlabeled is None:
            return
        loss, weights, labels, pos = unlabeled
        self.seen_ += len(pos)
        self.losses_unlabeled_.append(loss.reshape(1))
        if weights is None:
            self.kept_ += len(pos)
        else:
            self.weights_.append(weights)
        if self.labels_ is None:
            self.labels_ = torch.full(
                (net.stream_.n_unlabeled,), -1, dtype=torch.long, device=net.device
            )
        self.labels_[pos] = labels

    def on_epoch_end(self, net, **kwargs):
        """Sum the epoch's records and write them to the history."""
        records = (self.losses_labeled_, self.losses_unlabeled_, self.weights_)
        seen = self.seen_
        steps = max(len(self.losses_labeled_), 1)
        zero = torch.zeros((), device=net.device)
        sums = [torch.cat(r).sum(dtype=torch.float32) if r else zero for r in records]
        start = self.start_labels_
        if seen and start is not None:
            known = start >= 0
            changed = (known & (start != self.labels_)).sum(dtype=torch.float32)
            sums += [changed, known.sum(dtype=torch.float32)]
        else:
            sums += [zero, zero]
        sums = torch.stack(sums)
        # Several processes: the losses are each rank's, the pseudo-label
        # statistics the global batches'; the losses are averaged.
        sums[:2] = all_mean(sums[:2], net.world_size)
        # The epoch's only device read of the statistics.
        loss_l, loss_u, kept, changed, compared = sums.tolist()
        nan = float("nan")
        kept += self.kept_
        history = net.history
        history.record("train_loss_labeled", loss_l / steps)
        history.record("train_loss_unlabeled", loss_u / steps if seen else nan)
        history.record("pseudo_label_confident", kept / seen if seen else nan)
        history.record("pseudo_label_changed", changed / compared if compared else nan)

    def on_train_end(self, net, **kwargs):
        """Drop the records, so that the fitted net pickles lean."""
        for name in (
            "labels_",
            "start_labels_",
            "losses_labeled_",
            "losses_unlabeled_",
            "weights_",
            "seen_",
            "kept_",
        ):
            self.__dict__.pop(name, None)
