"""Views: what the student sees of the labeled and the unlabeled images."""

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

    unlabeled_start : int, default=0
        First epoch (0-based) of the unlabeled view; the epochs before it
        keep the unlabeled images as they are.
    """

    def __init__(self, labeled=None, unlabeled=None, unlabeled_start=0):
        self.labeled = labeled
        self.unlabeled = unlabeled
        self.unlabeled_start = unlabeled_start

    def start(self, context):
        """Draw the augmentations from the fit's generator."""
        self.generator_ = context.generator
        self.epoch_begin(0)

    def epoch_begin(self, epoch):
        """Use the unlabeled view in ``epoch`` if it has started."""
        self.unlabeled_on_ = epoch >= self.unlabeled_start

    def stop(self):
        """Forget the generator and the epoch's switch."""
        del self.generator_, self.unlabeled_on_

    def student(self, X_labeled, X_unlabeled):
        """Return the student's views of both parts of a batch."""
        unlabeled = self.unlabeled if self.unlabeled_on_ else None
        return self._view(self.labeled, X_labeled), self._view(unlabeled, X_unlabeled)

    def _view(self, augmenter, X):
        if augmenter is None or not len(X):
            return X
        return augmenter.augment_tensor(X, generator=self.generator_)
