"""The progress display of a fit: one bar over every stage (verbose=1)."""

import pickle
import re

import pytest

from sklearn_pseudolabel._progress import FitProgress

from .conftest import make_clf


def _fit(digits_partial, capsys, **params):
    clf = make_clf(max_epochs=3, student_epochs=2, student_rounds=2, **params)
    clf.fit(*digits_partial)
    return clf, capsys.readouterr()


def test_verbose_1_shows_every_stage_on_one_bar(digits_partial, capsys):
    clf, out = _fit(digits_partial, capsys, verbose=1)
    err = out.err
    # 3 Pseudo-Label epochs, 2 students of 2, the test-time prediction.
    for stage in (
        "Pseudo-Label epochs",
        "student 1 of 2",
        "student 2 of 2",
        "test-time prediction",
    ):
        assert stage + ":" in err
    assert err.index("Pseudo-Label") < err.index("student 1") < err.index("test-time")
    assert "8/8" in err.splitlines()[-1]
    assert re.search(r"\d\d:\d\d<\d\d:\d\d", err)  # elapsed < remaining
    assert out.out == ""  # no per-epoch table
    # The fitted nets keep their callbacks, without the bar: they pickle.
    pickle.loads(pickle.dumps(clf))


def test_verbose_0_is_silent(digits_partial, capsys):
    _, out = _fit(digits_partial, capsys, verbose=0)
    assert out.out == "" and out.err == ""


def test_verbose_2_prints_the_per_epoch_tables(digits_partial, capsys):
    _, out = _fit(digits_partial, capsys, verbose=2)
    # One table per network: the Pseudo-Label network and two students.
    assert out.out.count("train_loss_labeled") == 3
    assert "Pseudo-Label epochs" not in out.err


def test_an_early_stop_counts_the_stage_as_done(digits_partial, capsys):
    clf = make_clf(
        max_epochs=30, early_stopping=True, n_iter_no_change=1, verbose=1
    ).fit(*digits_partial)
    err = capsys.readouterr().err
    assert clf.n_iter_ < 30
    assert "31/31" in err.splitlines()[-1]


def test_predicting_counts_one_step():
    progress = FitProgress(2)
    with progress.predicting():
        assert progress.bar.desc.startswith("test-time prediction")
    assert progress.bar.n == 1
    progress.close()


def test_the_bar_is_closed_after_an_error(digits_partial, capsys, monkeypatch):
    closed = []
    monkeypatch.setattr(FitProgress, "close", lambda self: closed.append(True))
    clf = make_clf(max_epochs=2, lr=1e30, verbose=1)
    with pytest.raises(FloatingPointError, match="diverged"):
        clf.fit(*digits_partial)
    assert closed == [True] and not hasattr(clf, "net_")
