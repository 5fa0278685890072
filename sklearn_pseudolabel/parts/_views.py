"""Views: what the student sees of the labeled and the unlabeled images."""

import torch

from ._base import Part

__all__ = ["Views"]


class Views(Part):
    """The student's views of a step's images; the teacher sees them clean.

    Parameters
    ----------
    labeled : object with ``augment_tensor(X, generator)`` or None
        Augmentation of the labeled images; None keeps them as they are.

    unlabeled : object with ``augment_tensor(X, generator)`` or None
        The student's view of the unlabeled images (a strong augmentation in
        FixMatch); None keeps them as they are. The teacher always labels
        the un-augmented images.

    mixup : bool, default=False
        Blend each unlabeled view with the view of another unlabeled image of
        the step (mixup; Arazo et al., 2019): ``λ·x_i + (1 - λ)·x_j`` with a
        random partner ``j`` and ``λ`` uniform in [0.5, 1], drawn per image.
        The loss then weighs the two images' pseudo-labels by ``λ`` and
        ``1 - λ`` (:meth:`mixed`).

    Attributes
    ----------
    mixing_ : tuple of torch.Tensor or None
        With ``mixup``, the last step's ``(partner, share)``: the index of
        each unlabeled image's partner and its own weight ``λ``; else None.
    """

    def __init__(self, labeled=None, unlabeled=None, mixup=False):
        self.labeled = labeled
        self.unlabeled = unlabeled
        self.mixup = mixup

    def start(self, context):
        """Draw the augmentations from the fit's generator."""
        self.generator_ = context.generator
        self.mixing_ = None

    def stop(self):
        """Forget the generator."""
        del self.generator_, self.mixing_

    def student(self, X_labeled, X_unlabeled):
        """Return the student's views of both parts of a batch."""
        X_labeled = self._view(self.labeled, X_labeled)
        X_unlabeled = self._view(self.unlabeled, X_unlabeled)
        self.mixing_ = None
        if self.mixup and len(X_unlabeled):
            X_unlabeled = self._mix(X_unlabeled)
        return X_labeled, X_unlabeled

    def mixed(self, per_sample_loss, targets, weights):
        """Return the per-image loss of the last step's unlabeled views.

        ``per_sample_loss(targets)`` is the loss of each view towards
        ``targets`` (one row per view); ``weights`` the mask's (None: every
        pseudo-label counts). Without ``mixup``, ``weights * loss(targets)``;
        with it, the two images' terms weighed by their shares.
        """
        own = per_sample_loss(targets)
        if weights is not None:
            own = weights * own
        if self.mixing_ is None:
            return own
        partner, share = self.mixing_
        other = per_sample_loss(targets[partner])
        if weights is not None:
            other = weights[partner] * other
        return share * own + (1 - share) * other

    def _mix(self, X):
        n = len(X)
        partner = torch.randperm(n, generator=self.generator_, device=X.device)
        u = torch.rand(n, generator=self.generator_, device=X.device, dtype=X.dtype)
        share = torch.maximum(u, 1 - u)
        self.mixing_ = (partner, share)
        blend = share.view(n, *(1,) * (X.ndim - 1))
        return blend * X + (1 - blend) * X[partner]

    def _view(self, augmenter, X):
        if augmenter is None or not len(X):
            return X
        return augmenter.augment_tensor(X, generator=self.generator_)
