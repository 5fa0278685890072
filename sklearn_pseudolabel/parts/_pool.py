"""The unlabeled pool labelled once per epoch (``refresh="epoch"``)."""

import torch.nn.functional as F

from ._base import Part

__all__ = ["EpochPool"]


class EpochPool(Part):
    """Probabilities of the whole unlabeled pool, refreshed once per epoch.

    The reference experiment's refresh: at the first step of each epoch that
    uses the unlabeled images, the predicting network labels the whole pool
    with the weights the epoch starts from (in eval mode, in inference
    batches); every step of the epoch then reads its images' rows. The
    refresh runs inside the epoch, so that the epoch's ``dur`` counts it.
    """

    def start(self, context):
        """Start with no labels."""
        self.probs_ = None
        self.due_ = False

    def stop(self):
        """Drop the labels."""
        del self.probs_, self.due_

    def epoch_begin(self, uses_unlabeled):
        """Have the pool labelled at the epoch's first step, if it is used."""
        self.due_ = uses_unlabeled

    def probabilities(self, net, pos):
        """Return the probabilities of the pool's rows ``pos``.

        Labels the pool first if the epoch has not yet, with ``net``'s
        :meth:`~PseudoLabelNet.predict_logits` over its training stream's
        unlabeled images.
        """
        if self.due_:
            stream = net.stream_
            logits = net.predict_logits(stream.X, stream.unlabeled_idx)
            self.probs_ = F.softmax(logits, dim=1).clone()
            self.due_ = False
        return self.probs_[pos]
