"""Shared fixtures: small real data (sklearn digits) and a tiny, fast network."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from skorch.callbacks import Callback

from sklearn_pseudolabel import hide_labels

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
    batch_norm=False,
    hidden_units=0,
    lr_decay=0.998,
    nesterov=False,
    weight_decay=0.0,
)


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


class RecordWeights(Callback):
    """Copies of the module's weights after every training step (``steps``)."""

    def on_train_begin(self, net, **kwargs):
        self.steps = []

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.steps.append(
                {k: v.detach().clone() for k, v in net.module_.state_dict().items()}
            )


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
