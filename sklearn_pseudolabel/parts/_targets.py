"""Targets: what the student is trained towards, from the teacher's probabilities."""

import torch
import torch.nn.functional as F

from ._base import Part

__all__ = [
    "Alignment",
    "DistributionAlignment",
    "HardTargets",
    "SoftTargets",
    "Targets",
]


class Targets(Part):
    """Turn teacher probabilities into targets for ``F.cross_entropy``.

    Subclasses define ``__call__(probs)`` returning class indices ``(n,)`` or
    class probabilities ``(n, n_classes)``, the two target kinds that
    :func:`torch.nn.functional.cross_entropy` takes.
    """

    def __call__(self, probs):
        raise NotImplementedError


class HardTargets(Targets):
    """The most probable class: Lee's pseudo-label.

    Examples
    --------
    >>> import torch
    >>> from sklearn_pseudolabel.parts import HardTargets
    >>> HardTargets()(torch.tensor([[0.2, 0.8], [0.6, 0.4]])).tolist()
    [1, 0]
    """

    def __call__(self, probs):
        """Argmax class of each row."""
        return probs.argmax(dim=1)


class SoftTargets(Targets):
    """The teacher's probabilities, sharpened by a temperature.

    ``p_k^(1/T) / sum_j p_j^(1/T)``: ``temperature=1`` keeps the
    probabilities, smaller values sharpen them towards the hard label
    (MixMatch uses 0.5).

    Parameters
    ----------
    temperature : float, default=1.0
        Positive temperature.

    Examples
    --------
    >>> import torch
    >>> from sklearn_pseudolabel.parts import SoftTargets
    >>> SoftTargets(0.5)(torch.tensor([[0.25, 0.75]]))
    tensor([[0.1000, 0.9000]])
    """

    def __init__(self, temperature=1.0):
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0; got {temperature}.")
        self.temperature = temperature

    def __call__(self, probs):
        """Sharpened, renormalised probabilities."""
        if self.temperature == 1:
            return probs
        # In log space: p ** (1 / T) underflows to 0 / 0 for small T.
        tiny = torch.finfo(probs.dtype).tiny
        return F.softmax(probs.clamp_min(tiny).log() / self.temperature, dim=1)


class Alignment(Part):
    """Adjust teacher probabilities before targets and mask: here, the identity."""

    def __call__(self, probs):
        """Return ``probs`` unchanged."""
        return probs


class DistributionAlignment(Alignment):
    """Distribution alignment (ReMixMatch, Berthelot et al. 2020).

    Scales each teacher probability vector by ``p(y) / p_model`` and
    renormalises, where ``p(y)`` is the class frequency of the labeled rows
    and ``p_model`` a running mean of the teacher's predictions on unlabeled
    batches: a teacher that over-predicts some classes (confirmation bias,
    worst with few labels) is pulled back towards the labeled class balance.
    The running mean starts at ``p(y)``, so early steps are not distorted;
    it is updated without a device sync.

    Parameters
    ----------
    momentum : float, default=0.999
        Weight of the past in the running mean, per step.

    Examples
    --------
    >>> import torch
    >>> from sklearn_pseudolabel.parts import DistributionAlignment, TrainingContext
    >>> align = DistributionAlignment(momentum=0.0)
    >>> align.start(TrainingContext(4, 2, torch.tensor([0.5, 0.5]), None))
    >>> align(torch.tensor([[0.9, 0.1], [0.7, 0.3]]))  # p_model = (0.8, 0.2)
    tensor([[0.6923, 0.3077],
            [0.3684, 0.6316]])
    """

    def __init__(self, momentum=0.999):
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1); got {momentum}.")
        self.momentum = momentum

    def start(self, context):
        """Start the running mean at the labeled class frequencies."""
        self.prior_ = context.class_prior.float()
        self.p_model_ = self.prior_.clone()

    def stop(self):
        """Drop the running mean."""
        del self.prior_, self.p_model_

    def __call__(self, probs):
        """Aligned probabilities; updates the running mean with ``probs``."""
        self.p_model_.lerp_(probs.mean(dim=0), 1 - self.momentum)
        aligned = probs * (self.prior_ / self.p_model_.clamp_min(1e-6))
        return aligned / aligned.sum(dim=1, keepdim=True)
