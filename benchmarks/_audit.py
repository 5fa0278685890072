"""What the pseudo-labels of a fit are worth, epoch by epoch, by true class.

:class:`PseudoLabelAudit` is a skorch callback for the ``callbacks``
parameter: it knows the true labels of the unlabeled rows (a benchmark
does) and counts, over each epoch's training steps, the pseudo-labels that
the mask kept, right and wrong, by true class and by the class they wrongly
name. The counts stay on the device during the epoch and are read once at
its end, into the history column ``pseudo_label_audit``.
"""

import torch
from skorch.callbacks import Callback

__all__ = ["PseudoLabelAudit", "audit_summary"]


class PseudoLabelAudit(Callback):
    """Count kept pseudo-labels against the truth, per epoch.

    Parameters
    ----------
    y_unlabeled : array-like of int
        The true class index of each unlabeled row of ``X``, in their order.
    """

    def __init__(self, y_unlabeled):
        self.y_unlabeled = y_unlabeled

    def on_train_begin(self, net, **kwargs):
        self.truth_ = torch.as_tensor(self.y_unlabeled, device=net.device).long()
        # The net's classes: a pseudo-label may name one no unlabeled row has.
        self.n_classes_ = len(net.classes_)

    def on_epoch_begin(self, net, **kwargs):
        k = self.n_classes_
        self.seen_ = torch.zeros(k * k, device=net.device)
        self.kept_ = torch.zeros(k * k, device=net.device)

    def on_batch_end(self, net, training=False, unlabeled=None, **kwargs):
        if not training or unlabeled is None:
            return
        _, weights, labels, pos = unlabeled
        pairs = self.truth_[pos] * self.n_classes_ + labels
        ones = torch.ones_like(pairs, dtype=self.seen_.dtype)
        self.seen_.index_add_(0, pairs, ones)
        kept = ones if weights is None else weights.to(self.kept_.dtype)
        self.kept_.index_add_(0, pairs, kept)

    def on_epoch_end(self, net, **kwargs):
        k = self.n_classes_
        seen = self.seen_.view(k, k).round().long().tolist()
        kept = self.kept_.view(k, k).round().long().tolist()
        net.history.record("pseudo_label_audit", {"seen": seen, "kept": kept})

    def on_train_end(self, net, **kwargs):
        for name in ("truth_", "seen_", "kept_"):
            self.__dict__.pop(name, None)


def audit_summary(history):
    """Per epoch: share kept, accuracy of the kept and of all, wrong by class.

    ``history`` is a fitted net's history with the ``pseudo_label_audit``
    column; epochs without unlabeled steps are skipped. Each epoch gives
    ``epoch``, ``kept`` (share of the seen pseudo-labels the mask kept),
    ``kept_accuracy``, ``accuracy`` (of every pseudo-label seen), and by
    class: ``kept_by_class`` (kept, by true class), ``wrong_by_class`` (kept
    and wrong, by true class) and ``wrong_to_class`` (kept and wrong, by the
    class they name).
    """
    rows = []
    for epoch in history:
        audit = epoch.get("pseudo_label_audit")
        if audit is None:
            continue
        seen = torch.tensor(audit["seen"], dtype=torch.float64)
        kept = torch.tensor(audit["kept"], dtype=torch.float64)
        if not seen.sum():
            continue
        wrong = kept - torch.diag(torch.diag(kept))
        rows.append(
            dict(
                epoch=epoch["epoch"],
                kept=round(float(kept.sum() / seen.sum()), 4),
                kept_accuracy=round(
                    float(torch.diag(kept).sum() / kept.sum().clamp_min(1)), 4
                ),
                accuracy=round(float(torch.diag(seen).sum() / seen.sum()), 4),
                kept_by_class=kept.sum(1).long().tolist(),
                wrong_by_class=wrong.sum(1).long().tolist(),
                wrong_to_class=wrong.sum(0).long().tolist(),
            )
        )
    return rows
