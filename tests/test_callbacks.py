import numpy as np
import pytest
import torch
from skorch.callbacks import Callback, EarlyStopping

from sklearn_pseudolabel import PseudoLabelCNNClassifier
from sklearn_pseudolabel.callbacks import HeldOutAccuracy

from .conftest import REFERENCE_STEP, TINY, mnist_home


def _clf(**params):
    kwargs = dict(
        TINY, **REFERENCE_STEP, max_epochs=4, T1=1, T2=3, lr=0.05, random_state=0
    )
    kwargs.update(params)
    return PseudoLabelCNNClassifier(**kwargs)


def test_records_accuracy_of_the_current_network(digits, digits_partial):
    X, y = digits
    X_train, y_train = digits_partial
    clf = _clf(callbacks=[HeldOutAccuracy(X[300:], y[300:])]).fit(X_train, y_train)
    acc = np.array(clf.history_[:, "valid_acc"])
    assert acc.shape == (4,) and np.all((0 <= acc) & (acc <= 1))
    # After the last epoch the net is the fitted model.
    assert acc[-1] == pytest.approx(clf.score(X[300:], y[300:]))
    best = np.array(clf.history_[:, "valid_acc_best"])
    np.testing.assert_array_equal(best, acc == np.maximum.accumulate(acc))
    assert best[0]


def test_string_labels_and_image_arrays(digits, digits_partial):
    X, y = digits
    names = np.array([f"d{i}" for i in range(10)], dtype=object)
    X_train, y_train = digits_partial
    y_str = np.where(y_train == -1, -1, names[np.maximum(y_train, 0)]).astype(object)
    cb = HeldOutAccuracy(X[300:].reshape(-1, 8, 8), names[y[300:]])
    clf = _clf(callbacks=[cb]).fit(X_train, y_str)
    assert clf.history_[-1, "valid_acc"] == pytest.approx(
        clf.score(X[300:], names[y[300:]])
    )


def test_early_stopping_on_held_out_accuracy(digits, digits_partial):
    X, y = digits
    X_train, y_train = digits_partial
    callbacks = [
        HeldOutAccuracy(X[300:], y[300:]),
        EarlyStopping(
            monitor="valid_acc", lower_is_better=False, patience=1, threshold=1.0
        ),
    ]
    clf = _clf(max_epochs=10, callbacks=callbacks).fit(X_train, y_train)
    assert clf.n_iter_ == 2


class _RecordUnlabeled(Callback):
    """Keep what each training step hands ``on_batch_end``, on the CPU."""

    def on_train_begin(self, net, **kwargs):
        self.epochs = []

    def on_epoch_begin(self, net, **kwargs):
        self.epochs.append([])

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.epochs[-1].append((kwargs["loss_labeled"], kwargs["unlabeled"]))


@pytest.mark.parametrize("threshold", [None, 0.9])
def test_callbacks_see_each_steps_pseudo_labels(digits_partial, threshold):
    X, y = digits_partial
    clf = _clf(
        refresh="batch", threshold=threshold, callbacks=[_RecordUnlabeled()]
    ).fit(X, y)
    record = dict(clf.net_.callbacks_)["_RecordUnlabeled"]
    n_unlabeled = int((y == -1).sum())
    assert len(record.epochs) == 4
    checked = 0
    for epoch, steps in enumerate(record.epochs):
        assert all(loss.ndim == 0 for loss, _ in steps)
        if clf.history_[epoch, "alpha"] == 0:  # no unlabeled image is used
            assert all(unlabeled is None for _, unlabeled in steps)
            continue
        checked += 1
        loss, weights, labels, pos = zip(*(u for _, u in steps))
        pos, labels = torch.cat(pos), torch.cat(labels)
        # An epoch sees every unlabeled row once, named by its position.
        assert sorted(pos.tolist()) == list(range(n_unlabeled))
        assert labels.shape == pos.shape and labels.dtype == torch.long
        assert 0 <= labels.min() and labels.max() < 10
        if threshold is None:
            assert all(w is None for w in weights)
            continue
        weights = torch.cat(weights)
        assert set(weights.unique().tolist()) <= {0.0, 1.0}
        assert weights.mean().item() == pytest.approx(
            clf.history_[epoch, "pseudo_label_confident"]
        )
    assert checked == 2  # alpha > 0 from epoch 3 (T1=1)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda X, y: (X[:10], y[:9]), "10 images but 9 labels"),
        (lambda X, y: (X[:10], y[:10] + 20), r"labels \[20, 21"),
        (lambda X, y: (X[:10, :63], y[:10]), "63 values each, but the network"),
    ],
)
def test_errors_leave_estimator_unfitted(digits, digits_partial, make, match):
    X, y = digits
    clf = _clf(callbacks=[HeldOutAccuracy(*make(X, y))])
    with pytest.raises(ValueError, match=match):
        clf.fit(*digits_partial)
    assert not hasattr(clf, "classes_")


def test_divergence_guard_limits_the_epoch_loss():
    from types import SimpleNamespace

    from skorch.history import History

    from sklearn_pseudolabel.callbacks import DivergenceGuard

    history = History()
    net = SimpleNamespace(
        history=history, classes_=np.arange(10), lr=0.1, alpha_f=1.0, alpha_=0.5
    )
    guard = DivergenceGuard()
    guard.on_train_begin(net)

    def epoch(loss):
        history.new_epoch()
        history.record("train_loss_labeled", loss)
        guard.on_epoch_end(net)

    epoch(20000.0)  # first epoch: up to 10,000 * log(10) = 23,026
    epoch(0.5)
    epoch(23.0)  # up to 10 * max(0.5, log(10)) = 23.03
    with pytest.raises(FloatingPointError, match=r"loss is 23.1 .*more than 23"):
        epoch(23.1)
    guard.on_train_begin(net)
    with pytest.raises(FloatingPointError, match=r"loss is 2.4e\+04 .*than 2.3e\+04"):
        epoch(24000.0)
    guard.on_train_begin(net)
    history.new_epoch()
    history.record("train_loss_labeled", 0.5)
    for loss in (1.0, float("nan"), 2.0):
        history.new_batch()
        history.record_batch("train_loss", loss)
    history.new_batch()
    history.record_batch("valid_loss", 0.1)  # a validation step: no train_loss
    with pytest.raises(FloatingPointError, match=r"loss is nan\. Lower lr \(now 0.1\)"):
        guard.on_epoch_end(net)


def _guard_and_net(**params):
    from types import SimpleNamespace

    from skorch.history import History

    from sklearn_pseudolabel.callbacks import DivergenceGuard

    net = SimpleNamespace(
        history=History(), classes_=np.arange(10), lr=100.0, alpha_f=1.0, alpha_=1.0
    )
    guard = DivergenceGuard(**params)
    guard.on_train_begin(net)

    def epoch(loss):
        net.history.new_epoch()
        net.history.record("train_loss_labeled", loss)
        guard.on_epoch_end(net)

    return net, guard, epoch


def test_divergence_guard_stops_a_loss_stuck_far_above_a_uniform_guess():
    # An lr=100 tanh network on MNIST: thousands every epoch, never growing
    # tenfold over its best, so only the stall tells.
    net, guard, epoch = _guard_and_net()
    epoch(4554.0)
    epoch(11375.0)
    with pytest.raises(
        FloatingPointError,
        match=r"epoch 3: the mean labeled loss stayed above 10 times that of a "
        r"uniform guess \(2.3\) for 3 epochs, now 9993\. Lower lr \(now 100\)",
    ):
        epoch(9993.0)
    # A loss that comes back down in time is left alone.
    net, guard, epoch = _guard_and_net()
    for loss in (400.0, 60.0, 2.0, 20.0, 21.0, 1.0):
        epoch(loss)


def test_divergence_guard_stops_a_collapse_to_one_class():
    import torch

    net, guard, epoch = _guard_and_net(patience=2)
    X = torch.zeros(10, 1, 2, 2)
    labels = {"predicted": torch.zeros(10, dtype=torch.long)}
    net.stream_ = type("Stream", (), {"X": X, "labeled_idx": torch.arange(10)})
    net.predict_logits = lambda X, rows: torch.nn.functional.one_hot(
        labels["predicted"][rows], 10
    ).float()
    epoch(5.9)
    epoch(5.8)  # falling: a slow start, not a collapse
    epoch(5.85)
    with pytest.raises(FloatingPointError, match="one class to 99% or more"):
        epoch(5.9)
    net, guard, epoch = _guard_and_net(patience=2)
    net.stream_ = type("Stream", (), {"X": X, "labeled_idx": torch.arange(10)})
    net.predict_logits = lambda X, rows: torch.nn.functional.one_hot(
        labels["predicted"][rows], 10
    ).float()
    for loss in (2.2, 2.25, 2.28, 2.3, 2.4):  # hesitant, not collapsed
        epoch(loss)
    # Two classes among the predictions: no collapse.
    net, guard, epoch = _guard_and_net(patience=2)
    net.stream_ = type("Stream", (), {"X": X, "labeled_idx": torch.arange(10)})
    labels["predicted"][:2] = 3
    net.predict_logits = lambda X, rows: torch.nn.functional.one_hot(
        labels["predicted"][rows], 10
    ).float()
    for loss in (2.4, 2.5, 2.6):
        epoch(loss)


@pytest.mark.skipif(mnist_home() is None, reason="the MNIST copy is not present")
def test_a_stalled_mnist_fit_stops_with_an_error_naming_lr():
    # lr=100 with tanh on MNIST: a loss in the thousands for epochs, never
    # growing tenfold over its best, every prediction one class.
    from sklearn_pseudolabel import fetch_mnist, hide_labels

    X, y = fetch_mnist(data_home=mnist_home(), return_X_y=True)
    X, y = X[:3000], hide_labels(y[:3000], 100, random_state=0)
    clf = PseudoLabelCNNClassifier(
        lr=100.0, activation="tanh", max_epochs=8, student_epochs=0, random_state=0
    )
    with pytest.raises(FloatingPointError, match=r"epoch [34]: .*Lower lr \(now 100\)"):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")
