"""What every part of a training step gets at the start of a fit."""

from dataclasses import dataclass

import torch

__all__ = ["Part", "TrainingContext"]


@dataclass(frozen=True)
class TrainingContext:
    """Facts about a fit that parts may need to set up their state.

    Parameters
    ----------
    n_unlabeled : int
        Size of the unlabeled pool; a step's unlabeled images come with their
        positions ``pos`` in it (``0 <= pos < n_unlabeled``).

    n_classes : int
        Number of classes (the network's outputs).

    class_prior : torch.Tensor of shape (n_classes,)
        Class frequencies of the labeled rows, on the training device.

    generator : torch.Generator
        The fit's source of randomness on the training device (seeded by the
        estimator's ``random_state``).
    """

    n_unlabeled: int
    n_classes: int
    class_prior: torch.Tensor
    generator: torch.Generator

    @property
    def device(self):
        """The training device."""
        return self.class_prior.device


class Part:
    """Base class of the parts of a Pseudo-Label training step.

    A part is built by :class:`~sklearn_pseudolabel.PseudoLabelCNNClassifier`
    from its hyperparameters (or given by the user), is told about the fit by
    :meth:`start` before the first epoch, and forgets its per-fit state in
    :meth:`stop` so that the fitted estimator pickles without it. Both are
    no-ops here: stateless parts need not define them.
    """

    def start(self, context):
        """Set up per-fit state; ``context`` is a :class:`TrainingContext`."""

    def stop(self):
        """Drop per-fit state at the end of a fit."""

    def __repr__(self):
        args = ", ".join(
            f"{key}={value!r}"
            for key, value in vars(self).items()
            if not key.endswith("_")
        )
        return f"{type(self).__name__}({args})"
