"""Shared fixtures: small real data (sklearn digits) and a tiny, fast network."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from skorch.callbacks import Callback

from sklearn_pseudolabel import PseudoLabelCNNClassifier, hide_labels

#: A network small enough for a fit in well under a second on CPU, without the
#: student round (the tests of the student set one), in float32 so that the
#: tests' results do not depend on the CPU (``precision="auto"`` is bfloat16 on
#: CPUs with AMX units; the tests of precision set it).
TINY = dict(
    channels=(8, 16, 16),
    batch_size=32,
    batch_size_unlabeled=32,
    student_epochs=0,
    precision="float32",
)

#: The step of the reference experiment (Lee's loss, per-epoch refresh by the
#: raw weights, no threshold, no augmentation, plain CNN, exponential decay):
#: the tests of the training mechanics pin it, independent of the defaults.
REFERENCE_STEP = dict(
    alpha_f=3.0,
    refresh="epoch",
    mask="fixed",
    threshold=None,
    ema_decay=None,
    augmenter=None,
    augmenter_unlabeled=None,
    batch_norm=False,
    hidden_units=0,
    lr_decay=0.998,
    nesterov=False,
    weight_decay=0.0,
)


def make_clf(**params):
    """A tiny classifier with the reference step, 4 epochs, ``params`` on top."""
    kwargs = dict(
        TINY, **REFERENCE_STEP, max_epochs=4, T1=1, T2=3, lr=0.05, random_state=0
    )
    kwargs.update(params)
    return PseudoLabelCNNClassifier(**kwargs)


@pytest.fixture(autouse=True)
def _single_thread_torch():
    # Determinism and speed on a 2-core CI machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def digits():
    """sklearn's 8x8 digits scaled to [0, 1], first 400 samples."""
    X, y = load_digits(return_X_y=True)
    return (X[:400] / 16.0).astype(np.float32), y[:400]


@pytest.fixture(scope="session")
def digits_partial(digits):
    """The digits with 100 labels (10 per class) kept, the rest -1."""
    X, y = digits
    return X, hide_labels(y, n_labeled=100, random_state=0)


@pytest.fixture(scope="session")
def demo_split():
    """The demo's first draw: digits split 70/30, 100 training labels kept."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    return X_train, hide_labels(y_train, 100, random_state=0), X_test, y_test


@pytest.fixture(scope="session")
def default_fit(demo_split):
    """``PseudoLabelCNNClassifier()`` fitted on the demo's first draw, float32."""
    X_train, y_partial, _, _ = demo_split
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # session fixtures start before the autouse one
    try:
        clf = PseudoLabelCNNClassifier(precision="float32", random_state=0)
        return clf.fit(X_train, y_partial)
    finally:
        torch.set_num_threads(threads)


class RecordWeights(Callback):
    """Copies of the module's weights after every training step (``steps``)."""

    def on_train_begin(self, net, **kwargs):
        self.steps = []

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.steps.append(
                {k: v.detach().clone() for k, v in net.module_.state_dict().items()}
            )


class TrainingRows(Callback):
    """The rows a net trains on: how many, how many labeled, their targets."""

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.n_rows, self.n_labeled = len(X), int((y >= 0).sum())
        self.labels = y.cpu().numpy().copy()


def mnist_home():
    """Folder holding ``mnist/mnist.npz``: $SKLEARN_PSEUDOLABEL_DATA, else the
    ``shared/data`` folder beside the repository; None when absent."""
    import os
    from pathlib import Path

    home = os.environ.get(
        "SKLEARN_PSEUDOLABEL_DATA",
        Path(__file__).resolve().parents[2] / "shared" / "data",
    )
    return Path(home) if (Path(home) / "mnist" / "mnist.npz").is_file() else None
