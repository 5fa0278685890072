"""The GPU path: skipped without CUDA (run them on a machine with a GPU)."""

import warnings

import joblib
import numpy as np
import pytest
import torch

from sklearn_pseudolabel import PseudoLabelCNNClassifier, RandomDistortion

from .conftest import REFERENCE_STEP, TINY

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device"
)

#: A configuration that learns the digits in 10 epochs: on CPU (seeds 0-4)
#: 0.77-0.89 of the unlabeled rows in float32, 0.58-0.89 in bfloat16 and
#: 0.70-0.91 with a 10-epoch student; the GPU draws other random numbers.
LEARNS = {
    **TINY,
    **REFERENCE_STEP,
    "batch_norm": True,
    "threshold": 0.9,
    "max_epochs": 10,
    "T1": 1,
    "T2": 3,
    "lr": 0.05,
    "device": "cuda",
    "random_state": 0,
}


def _unlabeled_accuracy(clf, digits, y):
    unlabeled = y == -1
    return clf.score(digits[0][unlabeled], digits[1][unlabeled])


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_fit_predict_on_cuda(digits, digits_partial, precision):
    X, y = digits_partial
    clf = PseudoLabelCNNClassifier(**{**LEARNS, "precision": precision}).fit(X, y)
    parameters = list(clf.module_.parameters())
    assert all(p.device.type == "cuda" for p in parameters)
    averaged = clf.net_.predicting_module_
    assert all(p.device.type == "cuda" for p in averaged.parameters())
    proba = clf.predict_proba(X)
    assert isinstance(proba, np.ndarray) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert _unlabeled_accuracy(clf, digits, y) > 0.5  # chance: 0.1


def test_student_round_on_cuda(digits, digits_partial, tmp_path):
    """The student round stays on the GPU; the fitted model pickles."""
    X, y = digits_partial
    clf = PseudoLabelCNNClassifier(**{**LEARNS, "student_epochs": 10}).fit(X, y)
    assert clf.student_net_ is not None and len(clf.student_net_.history) == 10
    assert clf.module_ is clf.student_net_.module_
    assert all(p.device.type == "cuda" for p in clf.module_.parameters())
    assert _unlabeled_accuracy(clf, digits, y) > 0.5
    joblib.dump(clf, tmp_path / "clf.joblib")
    loaded = joblib.load(tmp_path / "clf.joblib")
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-6)


def _count_syncs(clf, X, y):
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            clf.fit(X, y)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught)


def test_a_training_step_never_waits_for_the_device(digits_partial):
    """No sync per step: the net logs the steps' losses once per epoch, and
    the library's step, augmenters and callbacks read nothing either.

    Two fits that differ only in their steps per epoch: the extra syncs per
    extra step. The per-epoch work (refresh, epoch statistics) cancels out.
    """
    X, y = digits_partial
    n_labeled, n_unlabeled = int((y >= 0).sum()), int((y == -1).sum())
    syncs, steps = [], []
    for batch_size_unlabeled in (32, 16):
        clf = PseudoLabelCNNClassifier(
            **{**TINY, "batch_size_unlabeled": batch_size_unlabeled},
            ema_decay=0.9,
            threshold=0.9,
            augmenter=RandomDistortion(),
            augmenter_unlabeled=RandomDistortion(),
            max_epochs=3,
            device="cuda",
            random_state=0,
        )
        syncs.append(_count_syncs(clf, X, y))
        per_epoch = max(
            -(-n_labeled // TINY["batch_size"]), -(-n_unlabeled // batch_size_unlabeled)
        )
        steps.append(3 * per_epoch)
    per_step = (syncs[1] - syncs[0]) / (steps[1] - steps[0])
    assert per_step < 0.5, (syncs, steps)
