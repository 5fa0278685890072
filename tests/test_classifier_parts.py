"""PseudoLabelCNNClassifier: parts built from hyperparameters, user modules,
schedules, and the training step's freedom from host-device syncs."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from sklearn_pseudolabel import (
    PseudoLabelCNNClassifier,
    RandomDistortion,
    parts,
)
from sklearn_pseudolabel._net import PseudoLabelNet

from .conftest import REFERENCE_STEP, TINY, RecordWeights


def make_clf(**params):
    kwargs = dict(
        TINY, **REFERENCE_STEP, max_epochs=4, T1=1, T2=3, lr=0.05, random_state=0
    )
    kwargs.update(params)
    return PseudoLabelCNNClassifier(**kwargs)


# --------------------------------------------------------------------- parts
@pytest.mark.parametrize(
    "params, expected",
    [
        (
            dict(),
            dict(
                teacher=parts.EvalTeacher,
                targets=parts.HardTargets,
                mask=parts.KeepAll,
                alignment=parts.Alignment,
            ),
        ),
        (
            dict(refresh="batch", teacher="training_pass", threshold=0.9),
            dict(teacher=parts.TrainingPassTeacher, mask=parts.FixedThreshold),
        ),
        (
            dict(
                targets="soft",
                temperature=0.5,
                distribution_alignment=True,
                mask="class_adaptive",
                threshold=0.9,
            ),
            dict(
                targets=parts.SoftTargets,
                alignment=parts.DistributionAlignment,
                mask=parts.ClassAdaptiveThreshold,
            ),
        ),
    ],
)
def test_hyperparameters_build_the_parts(digits_partial, params, expected):
    X, y = digits_partial
    net = make_clf(max_epochs=1, T1=0, **params).fit(X, y).net_
    for name, cls in expected.items():
        assert type(getattr(net, name)) is cls


def test_user_part_instance_is_copied_and_used(digits_partial):
    X, y = digits_partial

    class HalfWeight(parts.Mask):
        calls = 0

        def __call__(self, probs, pos):
            HalfWeight.calls += 1
            return torch.full((len(probs),), 0.5)

    mask = HalfWeight()
    clf = make_clf(mask=mask).fit(X, y)
    assert clf.net_.mask is not mask and HalfWeight.calls == 2 * 10
    np.testing.assert_allclose(clf.history_[2:, "pseudo_label_confident"], 0.5)


@pytest.mark.parametrize(
    "params",
    [
        dict(mask="class_adaptive", threshold=0.9),
        dict(distribution_alignment=True),
        dict(targets="soft", temperature=0.5),
        dict(refresh="batch", ema_decay=0.9, augmenter_unlabeled=RandomDistortion()),
    ],
)
def test_every_variant_trains_and_drops_its_state(digits_partial, params):
    X, y = digits_partial
    clf = make_clf(**params).fit(X, y)
    h = clf.history_
    assert np.isfinite(h[2:, "train_loss_unlabeled"]).all()
    assert np.all((0 <= np.array(h[2:, "pseudo_label_confident"])) <= 1)
    for part in (clf.net_.mask, clf.net_.alignment, clf.net_.views):
        assert not [k for k in vars(part) if k.endswith("_")]
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_gridsearch_over_parts(digits):
    X, y = digits
    grid = GridSearchCV(
        make_clf(max_epochs=2, T1=0, T2=1, threshold=0.9),
        {"mask": ["fixed", "class_adaptive"], "distribution_alignment": [False, True]},
        cv=2,
    ).fit(X[:200], np.where(np.arange(200) % 2, -1, y[:200]))
    assert len(grid.cv_results_["params"]) == 4


# ---------------------------------------------------------------- schedules
def test_cosine_lr_and_weight_decay(digits_partial):
    X, y = digits_partial
    clf = make_clf(lr_decay="cosine", weight_decay=1e-3, max_epochs=4).fit(X, y)
    expected = 0.05 * (1 + np.cos(np.pi * np.arange(4) / 4)) / 2
    np.testing.assert_allclose(clf.history_[:, "lr"], expected)
    assert clf.net_.optimizer_.param_groups[0]["weight_decay"] == 1e-3


def test_weight_average_warms_up_in_short_runs(digits_partial):
    # 4 steps: a fixed decay of 0.99 would return almost the initial weights.
    X, y = digits_partial
    clf = make_clf(
        ema_decay=0.99,
        max_epochs=1,
        batch_size=25,
        callbacks=[RecordWeights()],
        batch_norm=True,
    ).fit(X[y != -1], y[y != -1])
    (steps,) = [c.steps for _, c in clf.net_.callbacks_ if isinstance(c, RecordWeights)]
    assert len(steps) == 4
    expected = dict(steps[0])
    for t, weights in enumerate(steps[1:], start=1):
        d = (1 + t) / (10 + t)
        expected = {
            k: d * expected[k] + (1 - d) * v if v.is_floating_point() else v
            for k, v in weights.items()
        }
    for k, v in clf.module_.state_dict().items():
        torch.testing.assert_close(v, expected[k])


# -------------------------------------------------------------- user modules
class ResidualNet(nn.Module):
    """A small residual network for 3-channel images."""

    def __init__(self, input_shape, n_classes, width=8):
        super().__init__()
        self.stem = nn.Conv2d(input_shape[0], width, 3, padding=1)
        self.block = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1),
        )
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, n_classes)
        )

    def forward(self, X):
        h = torch.relu(self.stem(X))
        return self.head(torch.relu(h + self.block(h)))


def mlp(input_shape, n_classes, hidden=16):
    """A factory function for flat rows (seen as 1 x 1 x n images)."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(int(np.prod(input_shape)), hidden),
        nn.ReLU(),
        nn.Linear(hidden, n_classes),
    )


@pytest.fixture(scope="module")
def colour_images():
    rng = np.random.RandomState(0)
    y = rng.randint(0, 3, 120)
    X = rng.rand(120, 3, 32, 32).astype(np.float32) * 0.2
    for c in range(3):
        X[y == c, c] += 0.7  # the class is the dominant colour
    y_partial = y.copy()
    y_partial[30:] = -1
    return X, y, y_partial


def test_user_module_class_on_colour_images(colour_images):
    X, y, y_partial = colour_images
    clf = PseudoLabelCNNClassifier(
        module=ResidualNet,
        module__width=6,
        max_epochs=8,
        student_epochs=0,
        T1=2,
        T2=4,
        lr=0.05,
        batch_size=16,
        batch_size_unlabeled=32,
        random_state=0,
    ).fit(X, y_partial)
    assert isinstance(clf.module_, ResidualNet)
    assert clf.module_.stem.out_channels == 6
    assert clf.image_shape_ == (3, 32, 32)
    assert clf.score(X, y) > 0.9
    assert clf.get_params()["module__width"] == 6


def test_user_module_function_on_tabular_rows(digits_partial, digits):
    X, y = digits_partial
    clf = PseudoLabelCNNClassifier(
        module=mlp,
        module__hidden=32,
        max_epochs=30,
        student_epochs=0,
        T1=10,
        T2=20,
        lr=0.1,
        batch_size=32,
        random_state=0,
    ).fit(X, y)
    assert clf.module_[1].out_features == 32
    X_all, y_all = digits
    assert clf.score(X_all, y_all) > 0.8


def test_user_module_clone_pickle_gridsearch(digits):
    X, y = digits
    clf = PseudoLabelCNNClassifier(
        module=mlp, module__hidden=8, max_epochs=2, random_state=0
    )
    cloned = clone(clf)
    assert cloned.module is mlp and cloned.module__hidden == 8
    cloned.set_params(module__hidden=4, alpha_f=1.0)
    assert cloned.module__hidden == 4 and clf.module__hidden == 8
    grid = GridSearchCV(clf, {"module__hidden": [4, 12]}, cv=2).fit(X[:100], y[:100])
    assert grid.best_estimator_.module_[1].out_features in (4, 12)
    restored = pickle.loads(pickle.dumps(grid.best_estimator_))
    np.testing.assert_array_equal(
        restored.predict_proba(X[:10]), grid.best_estimator_.predict_proba(X[:10])
    )


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(module=nn.Linear(64, 10)), TypeError, "not an instance"),
        (dict(module=mlp, channels=(4, 4, 4)), ValueError, "^channels configure"),
        (
            dict(module=mlp, batch_norm=False, dropout=0.2),
            ValueError,
            "^dropout, batch_norm configure",
        ),
        (dict(module__hidden=3), ValueError, "need a user module"),
        (
            dict(module=mlp, student_channels=(4, 4, 4)),
            ValueError,
            "^student_channels configures the default DropoutCNN",
        ),
        (dict(module="mlp"), ValueError, "module"),
    ],
)
def test_user_module_errors(digits_partial, params, error, match):
    X, y = digits_partial
    clf = PseudoLabelCNNClassifier(max_epochs=1, **params)
    with pytest.raises(error, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")


def test_unknown_keyword_is_a_type_error_at_fit(digits_partial):
    # Like every parameter, checked at fit: __init__ and set_params never raise.
    clf = PseudoLabelCNNClassifier(chanels=(4, 4))
    with pytest.raises(TypeError, match=r"Unexpected parameter\(s\) \['chanels'\]"):
        clf.fit(*digits_partial)
    assert not hasattr(clf, "net_")
    with pytest.raises(ValueError, match="Invalid parameter 'chanels'"):
        PseudoLabelCNNClassifier().set_params(chanels=3)


# ---------------------------------------------------------------- hot path
_SYNCING = (
    "item",
    "tolist",
    "__bool__",
    "__int__",
    "__float__",
    "nonzero",
    "cpu",
    "numpy",
)


class _HostData(TorchDispatchMode):
    """Records tensors made from host data (``torch.tensor([...])``): on a GPU,
    a copy to the device that waits for it."""

    def __init__(self, calls):
        super().__init__()
        self.calls = calls

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten.lift_fresh.default:
            self.calls.append("tensor from host data")
        return func(*args, **(kwargs or {}))


def _spy_on_reads(monkeypatch, on_read):
    """Call ``on_read(name)`` at every call of a ``_SYNCING`` tensor method."""
    for name in _SYNCING:
        original = getattr(torch.Tensor, name)

        def spy(self, *args, _name=name, _original=original, **kwargs):
            on_read(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, spy)


@pytest.fixture
def host_reads(monkeypatch):
    """Names of the calls made inside training steps, and in the callbacks
    around them, that wait for the device on a GPU: a value read on the host,
    boolean-mask indexing (its output size needs one), a tensor made from host
    data. The net's one read of the epoch's step losses, after its last step,
    is outside (the test below counts the reads of a whole fit)."""
    in_step, calls = [False], []

    def record(name):
        if in_step[0]:
            calls.append(name)

    _spy_on_reads(monkeypatch, record)
    getitem = torch.Tensor.__getitem__

    def spy_getitem(self, index):
        if in_step[0] and isinstance(index, torch.Tensor) and index.dtype == torch.bool:
            calls.append("boolean index")
        return getitem(self, index)

    monkeypatch.setattr(torch.Tensor, "__getitem__", spy_getitem)

    def watched(function):
        def spy(*args, **kwargs):
            in_step[0] = True
            try:
                with _HostData(calls):
                    return function(*args, **kwargs)
            finally:
                in_step[0] = False

        return spy

    step, notify = PseudoLabelNet.train_step_single, PseudoLabelNet.notify

    def spy_notify(self, method_name, **kwargs):
        if method_name in ("on_batch_begin", "on_batch_end") and kwargs["training"]:
            return watched(notify)(self, method_name, **kwargs)
        return notify(self, method_name, **kwargs)

    monkeypatch.setattr(PseudoLabelNet, "train_step_single", watched(step))
    monkeypatch.setattr(PseudoLabelNet, "notify", spy_notify)
    return calls


@pytest.mark.parametrize(
    "params",
    [
        dict(),
        dict(refresh="batch", teacher="training_pass"),
        dict(student_epochs=2),
        dict(
            refresh="batch",
            ema_decay=0.9,
            threshold=0.9,
            mask="class_adaptive",
            distribution_alignment=True,
            targets="soft",
            temperature=0.5,
            augmenter=RandomDistortion(),
            augmenter_unlabeled=RandomDistortion(),
            batch_norm=True,
            hidden_units=8,
        ),
    ],
)
def test_training_step_never_waits_for_the_device(digits_partial, host_reads, params):
    X, y = digits_partial
    clf = make_clf(**params).fit(X, y)
    assert np.isfinite(clf.history_[-1, "train_loss_unlabeled"])
    assert host_reads == []


class _StepLosses(Callback):
    """Keeps each training step's loss as the step returned it."""

    def on_train_begin(self, net, **kwargs):
        self.losses = []

    def on_batch_end(self, net, training=False, loss=None, **kwargs):
        if training:
            self.losses.append(loss.detach().clone())


def test_step_losses_are_recorded_once_per_epoch(digits_partial):
    """The history holds each step's loss and batch size, as in skorch, though
    the net reads the losses from the device once per epoch."""
    X, y = digits_partial
    clf = make_clf(callbacks=[_StepLosses()]).fit(X, y)
    (losses,) = [c.losses for _, c in clf.net_.callbacks_ if isinstance(c, _StepLosses)]
    history = clf.history_
    recorded = [b["train_loss"] for epoch in history for b in epoch["batches"]]
    np.testing.assert_array_equal(recorded, torch.stack(losses).tolist())
    n_steps = -(-int((y == -1).sum()) // TINY["batch_size_unlabeled"])
    assert history[:, "train_batch_count"] == [n_steps] * 4
    sizes = history[-1, "batches", :, "train_batch_size"]
    assert sum(sizes) == int((y == -1).sum()) + n_steps * TINY["batch_size"]
    losses = history[-1, "batches", :, "train_loss"]
    assert history[-1, "train_loss"] == pytest.approx(np.average(losses, weights=sizes))


def test_an_epoch_reads_the_device_a_fixed_number_of_times(digits_partial, monkeypatch):
    """Host reads, counted over the whole fit, do not grow with the steps."""
    X, y = digits_partial
    reads = []
    _spy_on_reads(monkeypatch, lambda name: reads[-1].append(name))
    for batch_size_unlabeled in (32, 16):  # 10, then 19 steps per epoch
        reads.append([])
        make_clf(batch_size_unlabeled=batch_size_unlabeled).fit(X, y)
    assert len(reads[0]) == len(reads[1]) > 0


@pytest.mark.parametrize("params", [dict(), dict(refresh="batch", ema_decay=0.9)])
def test_a_training_step_switches_no_module_modes(digits_partial, monkeypatch, params):
    """Neither the step nor its teacher walks a module tree to set train/eval
    mode: host work a GPU step waits for. Counted over two fits that differ
    in their steps per epoch, so that the per-epoch passes cancel out."""
    X, y = digits_partial
    calls = []
    train = torch.nn.Module.train

    def counted(module, mode=True):
        calls[-1] += 1
        return train(module, mode)

    monkeypatch.setattr(torch.nn.Module, "train", counted)
    steps = []
    for batch_size_unlabeled in (32, 16):  # 10, then 19 steps per epoch
        calls.append(0)
        clf = make_clf(batch_size_unlabeled=batch_size_unlabeled, **params)
        clf.fit(X, y)
        steps.append(sum(clf.history_[:, "train_batch_count"]))
    assert steps[1] > steps[0]
    assert calls[0] == calls[1] > 0


def test_the_step_trains_after_the_module_was_set_to_eval(digits_partial):
    """A callback that leaves the network in eval mode (e.g. by predicting)
    does not make the next steps train without dropout."""

    class Evaluate(Callback):
        def on_epoch_end(self, net, **kwargs):
            net.module_.eval()

    class Modes(Callback):
        def on_train_begin(self, net, **kwargs):
            self.modes = []

        def on_batch_end(self, net, training=False, **kwargs):
            if training:
                self.modes.append(net.module_.training)

    clf = make_clf(callbacks=[Evaluate(), Modes()], max_epochs=3).fit(*digits_partial)
    (modes,) = [c.modes for _, c in clf.net_.callbacks_ if isinstance(c, Modes)]
    assert len(modes) > 3 and all(modes)


class _SyncingMask(parts.Mask):
    def __call__(self, probs, pos):
        keep = probs[probs.amax(1) > 0.5]  # boolean index
        return torch.full((len(probs),), float(keep.sum()))  # __float__


class _SyncingCallback(Callback):
    def on_batch_end(self, net, training=False, **kwargs):
        self.scale = torch.tensor([1.0, 2.0])  # host data
        self.steps = torch.zeros(()) + 1
        bool(self.steps == 1)  # __bool__, as AveragedModel does


def test_host_reads_are_detected(digits_partial, host_reads):
    X, y = digits_partial
    make_clf(mask=_SyncingMask(), callbacks=[_SyncingCallback()], max_epochs=3).fit(
        X, y
    )
    assert set(host_reads) == {
        "boolean index",
        "__float__",
        "__bool__",
        "tensor from host data",
    }


@pytest.mark.parametrize("name", ["augmenter", "augmenter_unlabeled"])
def test_auto_augmenter_is_the_weak_view_of_the_images(digits_partial, name):
    X, y = digits_partial
    other = "augmenter_unlabeled" if name == "augmenter" else "augmenter"
    clf = PseudoLabelCNNClassifier(
        max_epochs=1, student_epochs=0, random_state=0, **{name: "auto", other: None}
    ).fit(X, y)
    views = clf.net_.views
    view, other_view = (
        (views.labeled, views.unlabeled)
        if name == "augmenter"
        else (views.unlabeled, views.labeled)
    )
    assert isinstance(view, RandomDistortion) and other_view is None
    assert view.value_range == (float(X.min()), float(X.max()))
    assert view.max_rotation == 10 and view.erase_size == 0
    # Strokes on half of the labeled images; the student's view has none.
    assert view.stroke_probability == (0.5 if name == "augmenter" else 0.0)
    assert clf.get_params()[name] == "auto"  # resolved in the net, not in place


def test_defaults_build_the_recipe(digits_partial):
    X, y = digits_partial
    clf = PseudoLabelCNNClassifier(max_epochs=2, random_state=0).fit(X, y)
    net = clf.net_
    assert isinstance(net.views.labeled, RandomDistortion)
    assert isinstance(net.views.unlabeled, RandomDistortion)
    assert net.views.unlabeled.stroke_probability == 0
    assert net.views.unlabeled_start == 1  # round(2 / 2)
    assert isinstance(net.teacher, parts.EvalTeacher) and net.pool is None
    assert isinstance(net.mask, parts.FixedThreshold)
    assert net.mask.threshold == 0.95
    assert "weight_average" in dict(net.callbacks_)
    assert any(isinstance(m, nn.BatchNorm2d) for m in clf.module_.modules())
    # T1 = 0, T2 = round(0.1 * 2) = 0: the full weight from the start.
    assert clf.history_[:, "alpha"] == [1.0, 1.0]
    assert clf.history_[1, "lr"] == pytest.approx(0.025)  # cosine, half-way
    # 300 unlabeled rows: too few for the student round.
    assert clf.student_net_ is None and clf.module_ is net.module_
