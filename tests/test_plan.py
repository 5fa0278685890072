"""The plan of a fit: every "auto" resolved once, shown as fitted attributes."""

import warnings

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sklearn_pseudolabel import (
    DropoutCNN,
    PseudoLabelCNNClassifier,
    RandomDistortion,
    _plan,
    alpha_schedule,
)
from sklearn_pseudolabel._plan import (
    inference_batch_size,
    resolve_plan,
    resolve_precision,
)
from sklearn_pseudolabel._test_time import AffineViews

from .conftest import make_clf

#: The fitted attributes of the plan, with the trailing underscore.
PLAN_ATTRIBUTES = (
    "max_epochs_",
    "T1_",
    "T2_",
    "student_rounds_",
    "student_epochs_",
    "student_channels_",
    "augmenter_",
    "augmenter_unlabeled_",
    "unlabeled_view_start_",
    "test_time_augmentation_",
    "precision_",
    "inference_batch_size_",
)


def _plan_for(n_labeled, n_unlabeled, image_shape=(1, 28, 28), **params):
    """The plan of ``params`` for data of these sizes (pixels in [0, 1])."""
    X = np.zeros((2, int(np.prod(image_shape))), dtype=np.uint8)
    X[0, 0] = 255
    estimator = PseudoLabelCNNClassifier(random_state=0, **params)
    return resolve_plan(estimator, X, image_shape, n_labeled, n_unlabeled)


@pytest.mark.parametrize(
    "params, sizes, expected",
    [
        # MNIST, 100 labels: 134 steps per epoch -> 45 epochs before the
        # student, ramp of round(4.5) = 4 (Python rounds halves to even).
        (dict(), (100, 59_900), (45, 0, 4)),
        # 3,000 labels: a student too.
        (dict(), (3_000, 57_000), (45, 0, 4)),
        # No student (alpha_f=0, student_epochs=0): 60 epochs, ramp of 6.
        (dict(alpha_f=0.0), (100, 59_900), (60, 0, 6)),
        (dict(student_epochs=0), (100, 59_900), (60, 0, 6)),
        # sklearn digits: 3 steps per epoch -> 500 epochs for 1,500 steps.
        (dict(), (100, 1_157), (500, 0, 50)),
        (dict(max_epochs=20), (100, 1_157), (20, 0, 2)),
        # T2=None: a tenth of the run after T1.
        (dict(max_epochs=20, T1=5), (100, 1_157), (20, 5, 7)),
        (dict(max_epochs=20, T2=12), (100, 1_157), (20, 0, 12)),
        # No unlabeled rows: the labeled stream sets the epoch (2 steps).
        (dict(), (100, 0), (750, 0, 75)),
    ],
)
def test_automatic_schedule(params, sizes, expected):
    plan = _plan_for(*sizes, **params)
    assert (plan.max_epochs, plan.T1, plan.T2) == expected


@pytest.mark.parametrize(
    "params, sizes, expected",
    [
        # MNIST: 938 steps per epoch; the default wide students (twice the
        # channels) 10 epochs, 9,380 steps.
        (dict(), (60_000, 59_900), 10),
        # Students of the network's width (or a user module's): 20 epochs.
        (dict(student_channels=None), (60_000, 59_900), 20),
        (dict(student_channels=(8, 16, 32)), (60_000, 59_900), 20),
        (dict(module=DropoutCNN), (60_000, 59_900), 20),
        # Fewer than 10,000 unlabeled rows (the demo's digits): no student.
        (dict(), (1_257, 1_157), 0),
        (dict(), (10_100, 9_999), 0),
        # However many labeled rows.
        (dict(), (60_000, 57_000), 10),
        (dict(), (60_000, 10_000), 10),
        # Batches of 4,096: 3 steps per epoch -> 500 epochs for 1,500 steps.
        (dict(batch_size=4096), (10_100, 10_000), 500),
        (dict(student_epochs=3), (400, 300), 3),
        (dict(student_epochs=0), (60_000, 59_900), 0),
    ],
)
def test_automatic_student_epochs(params, sizes, expected):
    estimator = PseudoLabelCNNClassifier(**params)
    assert _plan._student_epochs(estimator, *sizes) == expected


@pytest.mark.parametrize(
    "params, expected",
    [
        # "auto": twice the network's channels.
        (dict(), (32, 64, 128)),
        (dict(channels=(8, 16, 16)), (16, 32, 32)),
        # A user module's students are its network.
        (dict(module=DropoutCNN), None),
        (dict(student_channels=None), None),
        (dict(student_channels=(8, 8, 8)), (8, 8, 8)),
    ],
)
def test_automatic_student_channels(params, expected):
    assert _plan._student_channels(PseudoLabelCNNClassifier(**params)) == expected


@pytest.mark.parametrize(
    "params, expected",
    [(dict(), 2), (dict(student_rounds=3), 3), (dict(student_rounds=1), 1)],
)
def test_automatic_student_rounds(params, expected):
    assert _plan._student_rounds(PseudoLabelCNNClassifier(**params)) == expected


def test_automatic_augmenter_follows_the_images():
    def resolve(augmenter, X, image_shape, strokes=0.0):
        if image_shape is None:  # a given augmenter: the range is not read
            return _plan._augmenter(augmenter, (0.0, 1.0), strokes)
        value_range = _plan._warpable_range(X, image_shape)
        return _plan._augmenter(augmenter, value_range, strokes)

    X = np.zeros((4, 64), dtype=np.uint8)
    X[:, 10] = 51
    aug = resolve("auto", X, (1, 8, 8))
    assert isinstance(aug, RandomDistortion) and aug.value_range == (0.0, 0.2)
    assert aug.elastic_alpha == 0 and aug.erase_size == 0 and aug.max_rotation == 10
    assert aug.stroke_probability == 0
    assert resolve("auto", X, (1, 8, 8), 0.5).stroke_probability == 0.5
    floats = np.linspace(-1, 3, 4 * 64).reshape(4, 64)
    assert resolve("auto", floats, (1, 8, 8)).value_range == (-1.0, 3.0)
    # Rows of features, blank images: no augmentation.
    assert resolve("auto", floats, (1, 1, 64)) is None
    assert resolve("auto", np.zeros((4, 64)), (1, 8, 8)) is None
    # A given augmenter is used as it is; None means none.
    given = RandomDistortion()
    assert resolve(given, X, None) is given
    assert resolve(None, X, None) is None


# ------------------------------------------------------------ T1 and T2
@pytest.mark.parametrize(
    "params, expected",
    [
        # Floats are fractions of the run (45 epochs on MNIST with students).
        (dict(T1=0.2, T2=0.6), (9, 27)),
        (dict(T1=0.0, T2=1.0), (0, 45)),
        # Ints are epochs; the kinds mix.
        (dict(T1=10, T2=0.5), (10, 22)),
        (dict(T1=0.1, T2=30), (4, 30)),
        # T2=None: a tenth of the run after T1.
        (dict(T1=0.5), (22, 26)),
        (dict(T1=3), (3, 7)),
    ],
)
def test_T1_T2_as_fractions_of_the_run(params, expected):
    plan = _plan_for(100, 59_900, **params)
    assert plan.max_epochs == 45
    assert (plan.T1, plan.T2) == expected


@pytest.mark.parametrize(
    "params, expected",
    [
        (dict(), 22),  # "auto": half the 45 epochs
        (dict(max_epochs=10), 5),
        (dict(unlabeled_view_start=0.2), 9),
        (dict(unlabeled_view_start=30), 30),
        (dict(unlabeled_view_start=0), 0),
        # Never, without a view: no warning.
        (dict(unlabeled_view_start=1.0, augmenter_unlabeled=None), 45),
    ],
)
def test_unlabeled_view_start_in_epochs(params, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _plan_for(100, 59_900, **params).unlabeled_view_start == expected


def test_defaults_have_no_view_of_rows_of_features():
    X = np.linspace(-1, 3, 2 * 64).reshape(2, 64)
    estimator = PseudoLabelCNNClassifier(random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plan = resolve_plan(estimator, X, (1, 1, 64), 100, 20_000)
    assert plan.augmenter is None and plan.augmenter_unlabeled is None
    assert plan.test_time_views is None


def test_warning_when_the_unlabeled_view_is_never_used():
    with pytest.warns(UserWarning, match="epoch 45 >= max_epochs=45"):
        _plan_for(100, 59_900, unlabeled_view_start=1.0)
    with pytest.warns(UserWarning, match="augmenter_unlabeled is never used"):
        _plan_for(100, 59_900, unlabeled_view_start=50)


def test_T1_T2_fractions_follow_the_run_length():
    short = _plan_for(100, 59_900, T1=0.2, T2=0.6, max_epochs=10)
    long = _plan_for(100, 59_900, T1=0.2, T2=0.6, max_epochs=100)
    assert (short.T1, short.T2) == (2, 6) and (long.T1, long.T2) == (20, 60)


def test_T2_below_T1_is_an_error_after_resolution(digits_partial):
    X, y = digits_partial
    # Mixed kinds: known once the run length is, at fit.
    clf = make_clf(max_epochs=10, T1=6, T2=0.5)
    with pytest.raises(ValueError, match=r"T1=6, T2=0.5, which are epochs 6 and 5"):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")
    # One kind: before anything else.
    for T1, T2 in [(0.6, 0.5), (6, 5)]:
        with pytest.raises(ValueError, match="T2 must be >= T1"):
            make_clf(T1=T1, T2=T2).fit(X, y)


@pytest.mark.parametrize(
    "params", [dict(T1=1.5), dict(T1=-1), dict(T2=-0.1), dict(T1="auto")]
)
def test_T1_T2_out_of_range_are_rejected(digits_partial, params):
    clf = make_clf(**params)
    with pytest.raises(ValueError, match="parameter of PseudoLabelCNNClassifier"):
        clf.fit(*digits_partial)
    assert not hasattr(clf, "net_")


def test_fractions_drive_the_alpha_history(digits_partial):
    X, y = digits_partial
    clf = make_clf(max_epochs=8, T1=0.25, T2=0.75).fit(X, y)
    assert (clf.T1_, clf.T2_) == (2, 6)
    expected = alpha_schedule(np.arange(8), 3.0, 2, 6)
    np.testing.assert_allclose(clf.history_[:, "alpha"], expected)


# ------------------------------------------------------ fitted attributes
def test_plan_attributes_of_a_small_fit(digits_partial):
    X, y = digits_partial
    clf = make_clf(
        max_epochs=3, T1=0.0, T2=None, student_epochs=2, augmenter="auto"
    ).fit(X, y)
    assert all(hasattr(clf, name) for name in PLAN_ATTRIBUTES)
    assert clf.max_epochs_ == clf.n_iter_ == len(clf.history_) == 3
    assert (clf.T1_, clf.T2_) == (0, 0)
    assert clf.student_rounds_ == len(clf.student_histories_) == 2
    assert clf.student_epochs_ == len(clf.student_net_.history) == 2
    assert clf.student_channels_ == (16, 32, 32)
    assert clf.augmenter_ is clf.net_.views.labeled
    assert clf.augmenter_.stroke_probability == 0.5
    assert clf.augmenter_unlabeled_ is None
    assert clf.unlabeled_view_start_ == 2  # round(3 / 2)
    assert clf.test_time_augmentation_ is True
    assert clf.precision_ == clf.net_.precision == "float32"
    assert clf.inference_batch_size_ == clf.net_.inference_batch_size == 128
    # The parameters keep what the user gave.
    assert clf.augmenter == "auto" and clf.T2 is None


def test_plan_attributes_without_students(digits_partial):
    X, y = digits_partial
    clf = make_clf(max_epochs=2, alpha_f=0.0, student_epochs=3).fit(X, y)
    assert (clf.student_rounds_, clf.student_epochs_) == (0, 0)
    assert clf.student_channels_ is None and clf.student_net_ is None


def test_plan_of_mnist():
    """What the defaults resolve to on MNIST's 60,000 images, 100 labeled."""
    X = np.zeros((60_000, 784), dtype=np.uint8)
    X[:, 400] = 255
    plan = resolve_plan(
        PseudoLabelCNNClassifier(random_state=0), X, (1, 28, 28), 100, 59_900
    )
    # 134 steps per epoch: 45 epochs before the students, ramp to epoch 4.
    assert (plan.max_epochs, plan.T1, plan.T2, plan.steps_per_epoch) == (
        45,
        0,
        4,
        134,
    )
    assert (plan.student_rounds, plan.student_epochs) == (2, 10)
    assert plan.student_channels == (32, 64, 128)
    assert isinstance(plan.augmenter, RandomDistortion)
    assert plan.augmenter.value_range == (0.0, 1.0)
    assert plan.augmenter.stroke_probability == 0.5
    assert isinstance(plan.augmenter_unlabeled, RandomDistortion)
    assert plan.augmenter_unlabeled.value_range == (0.0, 1.0)
    assert plan.augmenter_unlabeled.stroke_probability == 0
    assert plan.unlabeled_view_start == 22  # round(45 / 2), halves to even
    assert isinstance(plan.test_time_views, AffineViews)
    assert plan.precision == resolve_precision("auto", "cpu")
    assert plan.inference_batch_size == 128
    assert plan.total_epochs == 45 + 2 * 10
    attributes = plan.fitted_attributes()
    assert {name + "_" for name in attributes} == set(PLAN_ATTRIBUTES)
    # The same random_state draws the same seeds.
    again = resolve_plan(
        PseudoLabelCNNClassifier(random_state=0), X, (1, 28, 28), 100, 59_900
    )
    assert again.seed == plan.seed and plan.student_seed(0) != plan.student_seed(1)


def test_plan_attributes_are_documented():
    doc = PseudoLabelCNNClassifier.__doc__
    for name in PLAN_ATTRIBUTES:
        assert name in doc, name


@pytest.mark.parametrize(
    "device, expected",
    [("cpu", 128), (torch.device("cpu"), 128), ("cuda", 1024), ("cuda:1", 1024)],
)
def test_inference_batch_size_depends_on_the_device_type(device, expected):
    assert inference_batch_size(device) == expected


def test_warning_when_pseudo_labels_are_never_used():
    with pytest.warns(UserWarning, match="epoch 50 >= max_epochs=45"):
        _plan_for(100, 59_900, T1=50, T2=60)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _plan_for(100, 0, T1=50, T2=60, max_epochs=10)  # nothing unlabeled


# ------------------------------------------------------------- precision
class RecordOutputDtypes(Callback):
    """dtypes of the module's logits in the training steps."""

    def on_train_begin(self, net, **kwargs):
        self.dtypes = set()
        net.module_.register_forward_hook(
            lambda module, args, out: self.dtypes.add(out.dtype)
        )


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_precision(digits, digits_partial, precision):
    X, y = digits_partial
    params = dict(precision=precision, max_epochs=10, batch_norm=True, threshold=0.9)
    clf = make_clf(callbacks=[RecordOutputDtypes()], **params).fit(X, y)
    expected = torch.bfloat16 if precision == "bfloat16" else torch.float32
    (record,) = [c for _, c in clf.net_.callbacks_ if isinstance(c, RecordOutputDtypes)]
    assert record.dtypes == {expected}
    proba = clf.predict_proba(X)
    assert proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    # Reproducible, and it learns: 0.83 (float32) and 0.76 (bfloat16) of the
    # 300 unlabeled training rows when this test was written (10 epochs).
    again = make_clf(callbacks=[RecordOutputDtypes()], **params).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), proba)
    y_true = digits[1]
    assert clf.score(X[y == -1], y_true[y == -1]) > 0.7


@pytest.mark.parametrize("amx, expected", [(True, "bfloat16"), (False, "float32")])
def test_precision_auto(monkeypatch, digits_partial, amx, expected):
    # "auto" is bfloat16 on a CPU with AMX units, float32 on one without;
    # the student runs in the teacher's precision; the parameter is unchanged.
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    X, y = digits_partial
    clf = make_clf(
        precision="auto",
        max_epochs=2,
        student_epochs=1,
        callbacks=[RecordOutputDtypes()],
    ).fit(X, y)
    assert clf.precision == "auto"
    assert (
        clf.precision_ == clf.net_.precision == clf.student_net_.precision == expected
    )
    dtype = torch.bfloat16 if amx else torch.float32
    for net in (clf.net_, clf.student_net_):
        (record,) = [c for _, c in net.callbacks_ if isinstance(c, RecordOutputDtypes)]
        assert record.dtypes == {dtype}


def test_precision_auto_is_float32_off_the_cpu(monkeypatch):
    monkeypatch.setattr(
        torch.cpu, "_is_amx_tile_supported", lambda: True, raising=False
    )
    assert resolve_precision("auto", "cpu") == "bfloat16"
    assert resolve_precision("auto", "cuda") == "float32"
    assert resolve_precision("auto", torch.device("cuda", 1)) == "float32"
    assert resolve_precision("float32", "cpu") == "float32"
    assert resolve_precision("bfloat16", "cuda") == "bfloat16"
    # A torch without the probe: float32.
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported")
    assert resolve_precision("auto", "cpu") == "float32"


def test_precision_is_validated(digits_partial):
    X, y = digits_partial
    clf = make_clf(precision="float16")
    with pytest.raises(ValueError, match="'precision' parameter"):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")
