"""The parts of a Pseudo-Label training step, one job each.

A step of :class:`~sklearn_pseudolabel.PseudoLabelCNNClassifier` reads::

    views -> forward -> teacher -> alignment -> targets, mask
          -> loss = CE(labeled) + alpha(t) * mean(mask * CE(unlabeled, targets))

- a :class:`Views` says what the student sees (augmentations);
- a :class:`Teacher` predicts the unlabeled images' class probabilities;
- an :class:`Alignment` may adjust them (:class:`DistributionAlignment`);
- :class:`Targets` turn them into what the student is trained towards;
- a :class:`Mask` weighs each pseudo-label.

The estimator builds these from its hyperparameters; its ``teacher``,
``targets`` and ``mask`` hyperparameters also take an instance of a subclass,
which is how a new variant is added (see the user guide, "Extending").
"""

from ._base import Part, TrainingContext
from ._masks import ClassAdaptiveThreshold, FixedThreshold, KeepAll, Mask
from ._targets import (
    Alignment,
    DistributionAlignment,
    HardTargets,
    SoftTargets,
    Targets,
)
from ._teacher import EvalTeacher, Teacher, TrainingPassTeacher
from ._views import Views

__all__ = [
    "Alignment",
    "ClassAdaptiveThreshold",
    "DistributionAlignment",
    "EvalTeacher",
    "FixedThreshold",
    "HardTargets",
    "KeepAll",
    "Mask",
    "Part",
    "SoftTargets",
    "Targets",
    "Teacher",
    "TrainingContext",
    "TrainingPassTeacher",
    "Views",
]
