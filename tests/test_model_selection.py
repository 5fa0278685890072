import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    cross_val_score,
    cross_validate,
)
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier

from sklearn_pseudolabel import PseudoLabelCNNClassifier
from sklearn_pseudolabel.model_selection import (
    SemiSupervisedStratifiedKFold,
    make_labeled_scorer,
)

from .conftest import TINY


@pytest.fixture
def y_partial():
    y = np.repeat([0, 1, 2], 20)
    y[np.random.RandomState(0).permutation(60)[:30]] = -1
    return y


def test_folds_keep_unlabeled_in_training_and_test_labeled(y_partial):
    X = np.zeros((60, 2))
    unlabeled = np.flatnonzero(y_partial == -1)
    labeled = np.flatnonzero(y_partial != -1)
    tests = []
    for train, test in SemiSupervisedStratifiedKFold(3).split(X, y_partial):
        assert set(unlabeled) <= set(train)
        assert (y_partial[test] != -1).all()
        assert not set(train) & set(test)
        assert len(train) + len(test) == 60
        counts = np.bincount(y_partial[test], minlength=3)
        reference = np.bincount(y_partial[labeled], minlength=3) / 3
        assert np.all(np.abs(counts - reference) <= 1)  # stratified
        tests.append(test)
    np.testing.assert_array_equal(np.sort(np.concatenate(tests)), labeled)


def test_plain_stratified_kfold_tests_on_unlabeled_rows(y_partial):
    """The problem this splitter solves (scikit-learn #6574)."""
    X = np.zeros((60, 2))
    test = next(StratifiedKFold(3).split(X, y_partial))[1]
    assert (y_partial[test] == -1).any()


def test_shuffle_and_random_state(y_partial):
    X = np.zeros((60, 2))

    def folds(**kw):
        return [
            t.tolist()
            for _, t in SemiSupervisedStratifiedKFold(3, **kw).split(X, y_partial)
        ]

    assert folds(shuffle=True, random_state=0) == folds(shuffle=True, random_state=0)
    assert folds(shuffle=True, random_state=0) != folds(shuffle=True, random_state=1)
    assert folds() == folds()


def test_groups_never_straddle_train_and_test(y_partial):
    X = np.zeros((60, 2))
    groups = np.arange(60) % 10
    for train, test in SemiSupervisedStratifiedKFold(3).split(X, y_partial, groups):
        assert not set(groups[train]) & set(groups[test])
        assert (y_partial[test] != -1).all()
        dropped = [i for i in np.flatnonzero(y_partial == -1) if i not in train]
        assert all(groups[i] in set(groups[test]) for i in dropped)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(n_splits=1), ValueError, "n_splits"),
        (dict(n_splits=3, random_state=0), ValueError, "shuffle is False"),
        (dict(n_splits=3, shuffle="yes"), TypeError, "shuffle"),
    ],
)
def test_bad_parameters(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        SemiSupervisedStratifiedKFold(**kwargs)


def test_too_few_labeled_rows():
    y = np.array([0, 1, -1, -1, -1])
    with pytest.raises(ValueError, match="Cannot split 2 labeled samples"):
        list(SemiSupervisedStratifiedKFold(3).split(np.zeros((5, 1)), y))


def test_repr_and_get_n_splits():
    cv = SemiSupervisedStratifiedKFold(4, shuffle=True, random_state=2)
    assert cv.get_n_splits() == 4
    assert repr(cv) == (
        "SemiSupervisedStratifiedKFold(n_splits=4, random_state=2, shuffle=True)"
    )


# ------------------------------------------------------------------ scoring
def _blobs():
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(c, 0.6, (30, 2)) for c in (0, 3, 6)])
    y = np.repeat([0, 1, 2], 30)
    y_partial = y.copy()
    y_partial[rng.permutation(90)[:60]] = -1
    return X, y, y_partial


@pytest.mark.parametrize(
    "model",
    [
        LabelSpreading(kernel="knn", n_neighbors=5),
        SelfTrainingClassifier(LogisticRegression()),
    ],
)
def test_labeled_scorer_matches_metric_on_labeled_rows(model):
    X, _, y_partial = _blobs()
    model.fit(X, y_partial)
    labeled = y_partial != -1
    expected = accuracy_score(y_partial[labeled], model.predict(X[labeled]))
    assert make_labeled_scorer("accuracy")(model, X, y_partial) == expected
    assert make_labeled_scorer()(model, X, y_partial) == expected  # via .score
    f1 = f1_score(y_partial[labeled], model.predict(X[labeled]), average="macro")
    assert make_labeled_scorer("f1_macro")(model, X, y_partial) == pytest.approx(f1)
    # The default score counts the -1 rows as wrong.
    assert model.score(X, y_partial) < expected


def test_labeled_scorer_masks_sample_weight_and_rejects_all_unlabeled():
    X, _, y_partial = _blobs()
    model = LabelSpreading(kernel="knn").fit(X, y_partial)
    labeled = y_partial != -1
    w = np.linspace(1, 2, 90)
    expected = accuracy_score(
        y_partial[labeled], model.predict(X[labeled]), sample_weight=w[labeled]
    )
    scorer = make_labeled_scorer("accuracy")
    assert scorer(model, X, y_partial, sample_weight=w) == pytest.approx(expected)
    with pytest.raises(ValueError, match="every value of y is -1"):
        scorer(model, X, np.full(90, -1))
    assert "accuracy" in repr(scorer)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        scorer(model, X, y_partial[:50])


def test_cross_validate_train_scores_with_label_spreading():
    X, _, y_partial = _blobs()
    cv = SemiSupervisedStratifiedKFold(3)
    model = LabelSpreading(kernel="knn", n_neighbors=5)
    res = cross_validate(
        model,
        X,
        y_partial,
        cv=cv,
        return_train_score=True,
        scoring=make_labeled_scorer("accuracy"),
    )
    for k, (train, test) in enumerate(cv.split(X, y_partial)):
        fitted = LabelSpreading(kernel="knn", n_neighbors=5).fit(
            X[train], y_partial[train]
        )
        lab = train[y_partial[train] != -1]
        assert res["train_score"][k] == accuracy_score(
            y_partial[lab], fitted.predict(X[lab])
        )
        assert res["test_score"][k] == fitted.score(X[test], y_partial[test])


def test_gridsearch_with_cnn_splitter_and_scorer(digits):
    X, y = digits
    X, y = X[:150], y[:150].copy()
    y[50:] = -1
    grid = GridSearchCV(
        PseudoLabelCNNClassifier(**TINY, max_epochs=2, T1=0, T2=1, random_state=0),
        {"alpha_f": [0.0, 1.0]},
        cv=SemiSupervisedStratifiedKFold(2),
        scoring=make_labeled_scorer("accuracy"),
    ).fit(X, y)
    assert grid.cv_results_["split0_test_score"].shape == (2,)
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    scores = cross_val_score(
        grid.best_estimator_, X, y, cv=SemiSupervisedStratifiedKFold(2)
    )
    assert np.all((0 <= scores) & (scores <= 1))


# --------------------------------------------------------------------- dask
def test_gridsearch_on_dask_equals_local_run(digits):
    distributed = pytest.importorskip("distributed")
    import joblib
    import torch

    X, y = digits
    X, y = X[:120], y[:120].copy()
    y[60:] = -1
    params = {"alpha_f": [0.0, 2.0], "T1": [0, 1]}
    estimator = PseudoLabelCNNClassifier(**TINY, max_epochs=2, T2=1, random_state=0)
    cv = SemiSupervisedStratifiedKFold(2)
    local = GridSearchCV(estimator, params, cv=cv).fit(X, y)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        # One torch thread per worker, as the local run (see conftest).
        client.run(torch.set_num_threads, 1)
        with distributed.get_task_stream(client) as tasks:
            with joblib.parallel_config(backend="dask"):
                remote = GridSearchCV(estimator, params, cv=cv, n_jobs=-1).fit(X, y)
    # The 8 fits (4 candidates x 2 folds) ran as tasks on the cluster.
    assert len({t["worker"] for t in tasks.data}) >= 1
    assert len(tasks.data) >= 8
    for key in ("mean_test_score", "split0_test_score", "split1_test_score"):
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(remote.predict(X), local.predict(X))
