"""Checkpoints: a fit killed anywhere resumes to the uninterrupted result."""

import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from sklearn_pseudolabel import PseudoLabelCNNClassifier
from sklearn_pseudolabel._checkpoint import FILENAME

from .conftest import TINY

#: Two small configurations that between them hold every kind of state: the
#: weight average, the views' and the batches' random streams, the unlabeled
#: view from epoch 2 on, the cosine schedule, students (A); the epoch pool, a
#: class-adaptive mask, distribution alignment, early stopping and an
#: exponential schedule (B).
CONFIGS = {
    "A": dict(
        TINY,
        max_epochs=4,
        T1=0.25,
        T2=0.5,
        student_epochs=2,
        student_rounds=2,
        augmenter="auto",
        augmenter_unlabeled="auto",  # from epoch 2 of 4
    ),
    "B": dict(
        TINY,
        max_epochs=4,
        T1=1,
        T2=2,
        refresh="epoch",
        mask="class_adaptive",
        distribution_alignment=True,
        early_stopping=True,
        n_iter_no_change=5,
        lr_decay=0.9,
        student_epochs=2,
        student_rounds=1,
    ),
}

#: The fit each subprocess runs: ``CONFIG DIR OUT KILL``, where KILL is
#: ``none``, ``STAGE:EPOCH`` (SIGKILL when stage STAGE, 0 the Pseudo-Label
#: network, starts epoch EPOCH) or ``save:N`` (SIGKILL halfway through
#: writing the N-th checkpoint).
SCRIPT = textwrap.dedent(
    """
    import os, signal, sys, pickle
    import numpy as np, torch
    torch.set_num_threads(1)
    from sklearn.datasets import load_digits
    from skorch.callbacks import Callback
    from sklearn_pseudolabel import PseudoLabelCNNClassifier, hide_labels
    from sklearn_pseudolabel import _checkpoint

    config, directory, out, kill = sys.argv[1:5]
    params = pickle.loads(bytes.fromhex(sys.argv[5]))
    X, y = load_digits(return_X_y=True)
    X, y = X[:400] / 16.0, hide_labels(y[:400], 100, random_state=0)
    epochs = []

    bound = 2**31 - 1
    first_seed = np.random.RandomState(0).randint(bound)  # random_state=0

    class Watch(Callback):
        def on_epoch_begin(self, net, **kwargs):
            stage = (net.seed - first_seed) % bound  # students: first_seed + k
            epochs.append((stage, len(net.history)))
            if kill == f"{stage}:{len(net.history)}":
                os.kill(os.getpid(), signal.SIGKILL)

    if kill.startswith("save:"):
        write, calls = _checkpoint._write, []

        def half_written(state, path):
            calls.append(path)
            if len(calls) == int(kill[5:]):
                with open(path, "wb") as f:
                    f.write(b"half a checkpoint")
                os.kill(os.getpid(), signal.SIGKILL)
            write(state, path)

        _checkpoint._write = half_written
    clf = PseudoLabelCNNClassifier(
        random_state=0, checkpoint_dir=directory, callbacks=[Watch()], **params
    ).fit(X, y)
    np.save(out, clf.predict_proba(X))
    with open(out + ".epochs", "wb") as f:
        pickle.dump(epochs, f)
    """
)


def _fit(tmp_path, config, directory, kill="none", name="out"):
    out = str(tmp_path / f"{name}.npy")
    script = tmp_path / "fit.py"
    script.write_text(SCRIPT)
    params = pickle.dumps(CONFIGS[config]).hex()
    result = subprocess.run(
        [sys.executable, str(script), config, str(directory), out, kill, params],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result, out


def _proba_and_epochs(out):
    with open(out + ".epochs", "rb") as f:
        return np.load(out), pickle.load(f)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The predictions and epochs of each configuration's full fit."""
    runs = {}
    for config in CONFIGS:
        tmp_path = tmp_path_factory.mktemp(config)
        result, out = _fit(tmp_path, config, tmp_path / "ckpt")
        assert result.returncode == 0, result.stderr[-3000:]
        assert not (tmp_path / "ckpt" / FILENAME).exists()  # removed when done
        runs[config] = _proba_and_epochs(out)
    return runs


@pytest.mark.parametrize(
    "config, kill",
    [
        ("A", "0:2"),  # killed as the Pseudo-Label network starts epoch 3
        ("A", "0:3"),  # ... once its unlabeled view is on
        ("A", "2:1"),  # ... as the second student starts its second epoch
        ("A", "save:5"),  # ... halfway through writing the fifth checkpoint
        ("B", "1:1"),  # the epoch pool, the adaptive mask, early stopping
        ("B", "save:2"),
    ],
)
def test_a_killed_fit_resumes_bit_identical(tmp_path, uninterrupted, config, kill):
    directory = tmp_path / "ckpt"
    killed, _ = _fit(tmp_path, config, directory, kill, name="killed")
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert (directory / FILENAME).exists()
    resumed, out = _fit(tmp_path, config, directory, name="resumed")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    proba, epochs = _proba_and_epochs(out)
    expected, all_epochs = uninterrupted[config]
    assert proba.tobytes() == expected.tobytes()
    # It went on where the last checkpoint left off, not from the start.
    assert 0 < len(epochs) < len(all_epochs)
    assert epochs == all_epochs[-len(epochs) :]
    assert not (directory / FILENAME).exists()


def test_a_checkpoint_of_other_data_or_parameters_is_refused(tmp_path):
    from sklearn.datasets import load_digits

    from sklearn_pseudolabel import hide_labels

    directory = tmp_path / "ckpt"
    killed, _ = _fit(tmp_path, "A", directory, "0:2")
    assert killed.returncode == -9
    X, y = load_digits(return_X_y=True)  # the data of the killed fit
    X, y = X[:400] / 16.0, hide_labels(y[:400], 100, random_state=0)
    params = dict(CONFIGS["A"], random_state=0, checkpoint_dir=directory)
    other_data = PseudoLabelCNNClassifier(**params)
    with pytest.raises(ValueError, match="a fit on other data: it cannot be resumed"):
        other_data.fit(X[::-1], y[::-1])
    assert not hasattr(other_data, "net_")
    for change in (dict(lr=0.01), dict(random_state=1), dict(student_rounds=1)):
        clf = PseudoLabelCNNClassifier(**{**params, **change})
        with pytest.raises(ValueError, match="a fit on other parameters"):
            clf.fit(X, y)
    assert (directory / FILENAME).exists()  # refused, never overwritten


def test_without_checkpoint_dir_nothing_is_written(tmp_path, digits_partial):
    from .conftest import make_clf

    clf = make_clf(checkpoint_dir=None).fit(*digits_partial)
    assert "checkpoint" not in dict(clf.net_.callbacks_)
    assert list(tmp_path.iterdir()) == []


def test_a_checkpointed_fit_equals_one_without(tmp_path, digits_partial):
    from .conftest import make_clf

    params = dict(student_epochs=2, augmenter="auto")
    plain = make_clf(**params).fit(*digits_partial)
    saved = make_clf(checkpoint_dir=tmp_path, **params).fit(*digits_partial)
    X = digits_partial[0]
    np.testing.assert_array_equal(saved.predict_proba(X), plain.predict_proba(X))
    assert list(tmp_path.iterdir()) == []
    pickle.loads(pickle.dumps(saved))  # the fitted nets hold no file


def test_ctrl_c_keeps_the_checkpoint_of_the_last_epoch(tmp_path, digits_partial):
    import signal

    from skorch.callbacks import Callback

    from .conftest import make_clf

    class CtrlC(Callback):
        def on_epoch_begin(self, net, **kwargs):
            if len(net.history) == 3:
                signal.raise_signal(signal.SIGINT)

    clf = make_clf(checkpoint_dir=tmp_path, callbacks=[CtrlC()])
    with pytest.raises(KeyboardInterrupt):
        clf.fit(*digits_partial)
    state = torch.load(tmp_path / FILENAME, weights_only=False)
    assert len(state["stages"][0]["ranks"]) == 1
    (stage,) = state["stages"]
    assert not stage["finished"] and len(stage["history"]) == 2
