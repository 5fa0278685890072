import numpy as np
import pytest
from skorch.callbacks import EarlyStopping

from sklearn_pseudolabel import PseudoLabelCNNClassifier
from sklearn_pseudolabel.callbacks import HeldOutAccuracy

from .conftest import TINY


def _clf(**params):
    kwargs = dict(TINY, max_epochs=4, T1=1, T2=3, lr=0.05, random_state=0)
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


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda X, y: (X[:10], y[:9]), "10 images but 9 labels"),
        (lambda X, y: (X[:10], y[:10] + 20), r"labels \[20, 21"),
    ],
)
def test_errors_leave_estimator_unfitted(digits, digits_partial, make, match):
    X, y = digits
    clf = _clf(callbacks=[HeldOutAccuracy(*make(X, y))])
    with pytest.raises(ValueError, match=match):
        clf.fit(*digits_partial)
    assert not hasattr(clf, "classes_")
