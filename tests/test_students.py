"""The students: fresh networks distilled from the network before them."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone

from sklearn_pseudolabel import _students
from sklearn_pseudolabel._checks import check_predict_data
from sklearn_pseudolabel._test_time import predict_proba

from .conftest import TrainingRows, make_clf


@pytest.fixture(scope="module")
def fitted_student(digits_partial):
    X, y = digits_partial
    return make_clf(
        max_epochs=15,
        T1=5,
        T2=10,
        alpha_f=1.0,
        batch_norm=True,
        hidden_units=32,
        student_epochs=12,
        student_rounds=1,
        callbacks=[TrainingRows()],
    ).fit(X, y)


def test_no_student_on_a_small_pool_by_default(digits_partial):
    # 300 unlabeled rows: too few for student_epochs="auto".
    clf = make_clf(student_epochs="auto").fit(*digits_partial)
    assert clf.student_net_ is None and clf.student_histories_ == []
    assert clf.student_rounds_ == clf.student_epochs_ == 0
    assert clf.n_iter_ == len(clf.history_) == 4


def test_student_is_a_fresh_network_on_the_teacher_labels(
    fitted_student, digits, digits_partial
):
    X, y = digits_partial
    clf, teacher, student = (
        fitted_student,
        fitted_student.net_,
        fitted_student.student_net_,
    )
    # The Pseudo-Label run, then the student's own 12 epochs.
    assert clf.n_iter_ == len(clf.history_) == 15
    assert clf.history_[-1, "alpha"] == 1.0
    assert student.history[:, "alpha"] == [0.0] * 12
    # Every row is a labeled row of the student.
    assert dict(teacher.callbacks_)["TrainingRows"].n_labeled == 100
    rows = dict(student.callbacks_)["TrainingRows"]
    assert (rows.n_rows, rows.n_labeled) == (400, 400)
    # Its own weights, which predict; transduction_ is the student's.
    pairs = zip(clf.module_.parameters(), teacher.module_.parameters())
    assert not any(torch.equal(a, b) for a, b in pairs)
    labeled = y != -1
    np.testing.assert_array_equal(clf.transduction_[labeled], y[labeled])
    np.testing.assert_array_equal(clf.transduction_[~labeled], clf.predict(X[~labeled]))
    teacher_labels = teacher.predict_logits(
        torch.as_tensor(X[~labeled].reshape(-1, 1, 8, 8))
    ).argmax(1)
    # It learned the teacher's labels of the unlabeled rows, mistakes included
    # (it agrees with them more than with the truth).
    student_labels = clf.predict(X[~labeled])
    agreement = np.mean(student_labels == teacher_labels.numpy())
    assert agreement > 0.8
    assert agreement > np.mean(student_labels == digits[1][~labeled]) + 0.1


def test_students_learn_the_labels_of_the_network_before(digits_partial, monkeypatch):
    X, y = digits_partial
    calls = []
    train = _students.train_student

    def spy(estimator, plan, data, teacher, round_, progress=None, store=None):
        student = train(estimator, plan, data, teacher, round_, progress, store)
        calls.append((teacher, student, student.seed))
        return student

    monkeypatch.setattr(_students, "train_student", spy)
    clf = make_clf(student_epochs=2, student_rounds=3).fit(X, y)
    teachers, students, seeds = zip(*calls)
    # The Pseudo-Label network teaches the first student, each student the
    # next; the last one predicts, with its own seed and its own 2 epochs.
    assert teachers == (clf.net_, *students[:2])
    assert clf.student_net_ is students[-1] and len(set(seeds)) == 3
    assert [len(student.history) for student in students] == [2, 2, 2]
    assert len(clf.student_histories_) == 3
    assert all(h is s.history for h, s in zip(clf.student_histories_, students))
    # One round fits the same first student (its seed does not depend on
    # the number of rounds).
    monkeypatch.undo()
    one = make_clf(student_epochs=2, student_rounds=1).fit(X, y)
    for a, b in zip(one.module_.parameters(), students[0].module_.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_student_learns_the_labels_predicted_with_the_views(digits_partial):
    X, y = digits_partial
    clf = make_clf(
        student_epochs=2,
        student_rounds=1,
        augmenter="auto",
        test_time_augmentation=True,
        callbacks=[TrainingRows()],
    ).fit(X, y)
    labels = dict(clf.student_net_.callbacks_)["TrainingRows"].labels
    unlabeled = y == -1
    proba = predict_proba(
        clf.net_, clf._test_time_views, check_predict_data(clf, X[unlabeled])
    )
    np.testing.assert_array_equal(labels[unlabeled], proba.argmax(1).numpy())
    np.testing.assert_array_equal(labels[~unlabeled], y[~unlabeled])


def test_student_channels_widen_the_students_alone(digits_partial):
    X, y = digits_partial
    clf = make_clf(student_epochs=1, student_rounds=2, student_channels=[12, 24, 20])
    clf.fit(X, y)

    def channels(net):
        convs = [m for m in net.module_.features if isinstance(m, torch.nn.Conv2d)]
        return tuple(conv.out_channels for conv in convs)

    # The Pseudo-Label network keeps ``channels``; the students (the last
    # one predicts) get the student channels, the rest of the network alike.
    assert channels(clf.net_) == (8, 16, 16)
    assert channels(clf.student_net_) == (12, 24, 20)
    assert clf.module_ is clf.student_net_.module_
    assert clf.student_net_.module_.hidden_units == clf.net_.module_.hidden_units
    assert len(clf.student_histories_) == 2
    assert clf.predict_proba(X[:5]).shape == (5, 10)
    # None: students like their teacher.
    same = clone(clf).set_params(student_channels=None, student_rounds=1).fit(X, y)
    assert channels(same.student_net_) == (8, 16, 16)
    # "auto" (the default): twice as wide.
    wide = clone(clf).set_params(student_channels="auto", student_rounds=1).fit(X, y)
    assert channels(wide.net_) == (8, 16, 16)
    assert channels(wide.student_net_) == (16, 32, 32)


def test_student_reproducible_and_pickles(fitted_student, digits_partial):
    X, y = digits_partial
    # Two fits here, with this test's thread count (the module's fixture
    # may have been fitted with another, which changes float rounding).
    first, second = (clone(fitted_student).fit(X, y) for _ in range(2))
    proba = first.predict_proba(X)
    np.testing.assert_array_equal(second.predict_proba(X), proba)
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(first)).predict_proba(X), proba
    )


def test_no_student_without_unlabeled_rows(digits):
    X, y = digits
    with pytest.warns(UserWarning, match="no unlabeled"):
        clf = make_clf(student_epochs=2, max_epochs=2).fit(X[:100], y[:100])
    assert clf.student_net_ is None and clf.n_iter_ == 2


@pytest.mark.parametrize(
    "params",
    [dict(alpha_f=0.0), dict(T1=4, T2=4)],
    ids=["alpha_f=0", "pseudo-labels never used"],
)
def test_no_student_without_pseudo_labels(digits_partial, params):
    X, y = digits_partial
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # T1 >= max_epochs
        clf = make_clf(student_epochs=2, **params).fit(X, y)
    assert clf.student_net_ is None and clf.module_ is clf.net_.module_


def test_student_with_early_stopping_holds_out_the_same_rows(digits_partial):
    X, y = digits_partial
    clf = make_clf(
        student_epochs=2, early_stopping=True, callbacks=[TrainingRows()]
    ).fit(X, y)
    rows = dict(clf.student_net_.callbacks_)["TrainingRows"]
    assert (rows.n_rows, rows.n_labeled) == (390, 390)
    assert np.isfinite(clf.student_net_.history[:, "valid_loss"]).all()
    assert clf.student_net_.train_split is None
