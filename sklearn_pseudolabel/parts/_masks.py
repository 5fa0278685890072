"""Masks: how much each pseudo-label counts in the unlabeled loss."""

import torch

from ._base import Part

__all__ = ["ClassAdaptiveThreshold", "FixedThreshold", "KeepAll", "Mask"]


class Mask(Part):
    """Weight of each pseudo-label in the unlabeled loss.

    Subclasses define ``__call__(probs, pos)``: ``probs`` the teacher's
    (aligned) probabilities ``(n, n_classes)``, ``pos`` the positions of the
    images in the unlabeled pool; they return float weights ``(n,)``, usually
    0 or 1, or None when every pseudo-label counts fully. The unlabeled loss
    is ``mean(weight * CE)`` over the batch (Lee's normalisation by the
    unlabeled batch size), ``mean(CE)`` for None.
    """

    def __call__(self, probs, pos):
        raise NotImplementedError


class KeepAll(Mask):
    """Every pseudo-label counts fully (Lee, 2013).

    Returns None rather than a tensor of ones: the step then takes the plain
    mean of the cross-entropies, without making and multiplying weights
    (device operations of each step; what a GPU step of the small networks
    here pays for is mostly its launches).

    Examples
    --------
    >>> import torch
    >>> from sklearn_pseudolabel.parts import KeepAll
    >>> KeepAll()(torch.tensor([[0.6, 0.4]]), None) is None
    True
    """

    def __call__(self, probs, pos):
        """None: no weights."""
        return None


class FixedThreshold(Mask):
    """Keep a pseudo-label when its probability reaches ``threshold``.

    The confidence threshold of Arazo et al. (2019), FixMatch and USB's
    PseudoLabel (0.95).

    Parameters
    ----------
    threshold : float
        In [0, 1].

    Examples
    --------
    >>> import torch
    >>> from sklearn_pseudolabel.parts import FixedThreshold
    >>> FixedThreshold(0.9)(torch.tensor([[0.95, 0.05], [0.6, 0.4]]), None)
    tensor([1., 0.])
    """

    def __init__(self, threshold):
        if not 0 <= threshold <= 1:
            raise ValueError(f"threshold must be in [0, 1]; got {threshold}.")
        self.threshold = threshold

    def __call__(self, probs, pos):
        """1 where the top probability is at least ``threshold``, else 0."""
        return (probs.amax(dim=1) >= self.threshold).to(probs.dtype)


class ClassAdaptiveThreshold(Mask):
    """Class-wise thresholds scaled by each class's learning status (FlexMatch).

    Each unlabeled image remembers the class it was last predicted with
    confidence above ``threshold`` (none at first). A class's learning
    status is how many images it holds, relative to the largest of the class
    counts and the count of images not yet confidently predicted (the
    warm-up of Zhang et al. 2021); its threshold is
    ``threshold * s / (2 - s)``: classes the network has not learned yet
    (low ``s``) get lower thresholds and more pseudo-labels. Early in
    training, when most images are still unclaimed, every threshold is low.
    The state lives on the training device; updating it costs no sync.

    Parameters
    ----------
    threshold : float
        The upper threshold, for well-learned classes (FlexMatch: 0.95).

    References
    ----------
    Zhang, B. et al. (2021). FlexMatch: Boosting semi-supervised learning
    with curriculum pseudo labeling. NeurIPS.

    Examples
    --------
    >>> import torch
    >>> from sklearn_pseudolabel.parts import ClassAdaptiveThreshold, TrainingContext
    >>> mask = ClassAdaptiveThreshold(0.9)
    >>> mask.start(TrainingContext(3, 2, torch.tensor([0.5, 0.5]), None))
    >>> probs = torch.tensor([[0.95, 0.05], [0.55, 0.45], [0.4, 0.6]])
    >>> mask(probs, torch.arange(3))  # class 0: s = 1/2, threshold 0.3
    tensor([1., 1., 1.])
    """

    def __init__(self, threshold):
        if not 0 <= threshold <= 1:
            raise ValueError(f"threshold must be in [0, 1]; got {threshold}.")
        self.threshold = threshold

    def start(self, context):
        """Mark every unlabeled image as not yet confidently predicted."""
        self.n_classes_ = context.n_classes
        self.selected_ = torch.full(
            (context.n_unlabeled,), -1, dtype=torch.long, device=context.device
        )

    def stop(self):
        """Drop the per-image record."""
        del self.selected_, self.n_classes_

    def __call__(self, probs, pos):
        """1 where the top probability reaches its class's threshold."""
        confidence, labels = probs.max(dim=1)
        confident = confidence > self.threshold
        self.selected_[pos] = torch.where(confident, labels, self.selected_[pos])
        counts = torch.bincount(self.selected_ + 1, minlength=self.n_classes_ + 1)
        status = counts[1:] / counts.max().clamp_min(1)  # unclaimed count included
        status = status.to(probs.dtype)[labels]
        return (confidence >= self.threshold * status / (2 - status)).to(probs.dtype)
