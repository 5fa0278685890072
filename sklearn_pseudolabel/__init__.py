"""Deep semi-supervised learning with Pseudo-Label, for scikit-learn."""

from ._augment import ImageAugmenter
from ._classifier import PseudoLabelCNNClassifier
from ._cnn import DropoutCNN
from ._distort import RandomDistortion
from ._resample import AugmentationSampler
from ._schedule import alpha_schedule
from .datasets import fetch_mnist, hide_labels

__all__ = [
    "AugmentationSampler",
    "DropoutCNN",
    "ImageAugmenter",
    "PseudoLabelCNNClassifier",
    "RandomDistortion",
    "alpha_schedule",
    "fetch_mnist",
    "hide_labels",
]

__version__ = "0.1.0.dev0"
