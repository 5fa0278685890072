"""
=================================================
Extending: your own network and your own mask
=================================================

A new idea in :class:`~sklearn_pseudolabel.PseudoLabelCNNClassifier` is one
small class and one hyperparameter. Here, two of them on scikit-learn's 8×8
digits with 10 labels per class:

- a user **network**, passed as ``module=`` with its own arguments as
  ``module__<name>`` parameters (skorch's routing), tuned like any other
  hyperparameter;
- a user **mask**, a subclass of :class:`~sklearn_pseudolabel.parts.Mask`
  that weighs each pseudo-label by its confidence instead of cutting at a
  threshold, passed as ``mask=``.
"""

# %%
import matplotlib.pyplot as plt
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from sklearn_pseudolabel import PseudoLabelCNNClassifier, hide_labels
from sklearn_pseudolabel.parts import Mask

X, y = load_digits(return_X_y=True)
X = X / 16.0
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
y_partial = hide_labels(y_train, n_labeled=100, random_state=0)


# %%
# A network: any ``torch.nn.Module`` class (or function) that takes
# ``input_shape=(C, H, W)`` and ``n_classes`` and maps ``(n, C, H, W)``
# batches to logits.
class SmallResNet(nn.Module):
    """A stem convolution, one residual block, global pooling."""

    def __init__(self, input_shape, n_classes, width=16):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(input_shape[0], width, 3, padding=1), nn.BatchNorm2d(width)
        )
        self.block = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.BatchNorm2d(width),
        )
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, n_classes)
        )

    def forward(self, X):
        """Return the logits."""
        h = torch.relu(self.stem(X))
        return self.head(torch.relu(h + self.block(h)))


# %%
# A mask: the weight of each pseudo-label in the unlabeled loss, from the
# teacher's probabilities (and the images' positions in the unlabeled pool,
# for masks that remember). It stays on the device: no ``.item()``.
class ConfidenceWeight(Mask):
    """Weight = top probability to the power ``power``."""

    def __init__(self, power=2.0):
        self.power = power

    def __call__(self, probs, pos):
        """Return one weight per unlabeled image."""
        return probs.amax(dim=1) ** self.power


# %%
common = dict(
    module=SmallResNet,
    module__width=16,
    max_epochs=30,
    T1=5,
    T2=15,
    alpha_f=1.0,
    lr=0.05,
    batch_size=32,
    student_epochs=0,  # the masks alone, without the student round
    random_state=0,
)
models = {
    "supervised (alpha_f=0)": PseudoLabelCNNClassifier(**{**common, "alpha_f": 0.0}),
    "threshold 0.95": PseudoLabelCNNClassifier(threshold=0.95, **common),
    # threshold belongs to the built-in masks: None with a user mask.
    "ConfidenceWeight()": PseudoLabelCNNClassifier(
        mask=ConfidenceWeight(), threshold=None, **common
    ),
}
scores = {}
for name, model in models.items():
    scores[name] = model.fit(X_train, y_partial).score(X_test, y_test)
    print(f"{name:<24} test accuracy {scores[name]:.3f}")

# %%
# The custom mask's mean weight per epoch is in the history, like the
# fraction kept by a threshold.
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.2))
ax1.barh(list(scores), list(scores.values()))
ax1.set_xlim(min(scores.values()) - 0.05, 1.0)
ax1.set_xlabel("test accuracy")
for name in ("threshold 0.95", "ConfidenceWeight()"):
    ax2.plot(models[name].history_[:, "pseudo_label_confident"], label=name)
ax2.set_xlabel("epoch")
ax2.set_ylabel("mean mask weight")
ax2.legend()
fig.tight_layout()
plt.show()
