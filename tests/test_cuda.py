"""The GPU path: skipped without CUDA (run them on a machine with a GPU)."""

import warnings

import numpy as np
import pytest
import torch

from sklearn_pseudolabel import PseudoLabelCNNClassifier

from .conftest import TINY

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device"
)


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_fit_predict_on_cuda(digits, digits_partial, precision):
    X, y = digits_partial
    clf = PseudoLabelCNNClassifier(
        **TINY, max_epochs=10, device="cuda", precision=precision, random_state=0
    ).fit(X, y)
    parameters = list(clf.module_.parameters())
    assert all(p.device.type == "cuda" for p in parameters)
    averaged = clf.net_.predicting_module_
    assert all(p.device.type == "cuda" for p in averaged.parameters())
    proba = clf.predict_proba(X)
    assert isinstance(proba, np.ndarray) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    unlabeled = y == -1
    assert clf.score(X[unlabeled], digits[1][unlabeled]) > 0.7


def test_training_steps_do_not_synchronize(digits_partial):
    """The step keeps its statistics on the GPU: syncs per epoch, not per step."""
    X, y = digits_partial
    clf = PseudoLabelCNNClassifier(**TINY, max_epochs=3, device="cuda", random_state=0)
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            clf.fit(X, y)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    syncs = [w for w in caught if "synchroniz" in str(w.message)]
    steps = 3 * -(-int((y == -1).sum()) // TINY["batch_size_unlabeled"])
    assert len(syncs) < steps, len(syncs)


def test_student_round_on_cuda(digits, digits_partial, tmp_path):
    """The default recipe with its student round stays on the GPU and pickles."""
    import joblib

    X, y = digits_partial
    clf = PseudoLabelCNNClassifier(
        **{**TINY, "student_epochs": 3}, max_epochs=6, device="cuda", random_state=0
    ).fit(X, y)
    assert clf.student_net_ is not None and len(clf.student_net_.history) == 3
    assert all(p.device.type == "cuda" for p in clf.module_.parameters())
    assert clf.module_ is clf.student_net_.module_
    unlabeled = y == -1
    assert clf.score(X[unlabeled], digits[1][unlabeled]) > 0.7
    joblib.dump(clf, tmp_path / "clf.joblib")
    loaded = joblib.load(tmp_path / "clf.joblib")
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-6)
