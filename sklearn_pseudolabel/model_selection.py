"""Cross-validation and scoring that understand unlabeled rows (``y == -1``).

Plain scikit-learn mishandles -1 in ``y`` (scikit-learn issues #2593, #6574):
``StratifiedKFold`` stratifies on -1 as if it were a class and puts unlabeled
rows in test folds, and scorers count every -1 row as an error. The splitter
here keeps every unlabeled row in every training fold and tests on labeled
rows only; the scorer wrapper drops -1 rows before any metric. Both work with
any estimator, including :class:`~sklearn.semi_supervised.LabelSpreading` and
:class:`~sklearn.semi_supervised.SelfTrainingClassifier`.
"""

from numbers import Integral

import numpy as np
from sklearn.metrics import check_scoring
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.model_selection._split import BaseCrossValidator
from sklearn.utils import _safe_indexing, column_or_1d
from sklearn.utils._param_validation import validate_params
from sklearn.utils.validation import check_consistent_length

from ._validation import unlabeled_mask

__all__ = ["SemiSupervisedStratifiedKFold", "make_labeled_scorer"]


class SemiSupervisedStratifiedKFold(BaseCrossValidator):
    """Stratified K-fold over labeled rows; unlabeled rows always train.

    The labeled rows (``y != -1``) are split as
    :class:`~sklearn.model_selection.StratifiedKFold` splits them (or
    :class:`~sklearn.model_selection.StratifiedGroupKFold` when ``groups`` are
    given). Every unlabeled row joins every training fold and never a test
    fold, so a test fold is always fully labeled and scores with any metric.

    With ``groups``, an unlabeled row whose group is in the test fold is left
    out of that training fold, so no group is seen both in training and in
    testing.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds; at least 2.

    shuffle : bool, default=False
        Shuffle each class's labeled rows before splitting.

    random_state : int, RandomState instance or None, default=None
        Seed of the shuffle; only used when ``shuffle`` is True.

    See Also
    --------
    make_labeled_scorer : Scorers that ignore -1 rows.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_pseudolabel.model_selection import (
    ...     SemiSupervisedStratifiedKFold)
    >>> y = np.array([0, 0, 1, 1, -1, -1])
    >>> cv = SemiSupervisedStratifiedKFold(n_splits=2)
    >>> for train, test in cv.split(np.zeros((6, 1)), y):
    ...     print(train, test)
    [1 3 4 5] [0 2]
    [0 2 4 5] [1 3]
    """

    def __init__(self, n_splits=5, *, shuffle=False, random_state=None):
        if not isinstance(n_splits, Integral) or n_splits < 2:
            raise ValueError(f"n_splits must be an integer >= 2; got {n_splits!r}.")
        if not isinstance(shuffle, bool):
            raise TypeError(f"shuffle must be True or False; got {shuffle!r}.")
        if not shuffle and random_state is not None:
            raise ValueError(
                "Setting a random_state has no effect since shuffle is False. "
                "You should leave random_state to its default (None), or set "
                "shuffle=True."
            )
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return the number of folds, ``n_splits``.

        Parameters
        ----------
        X, y, groups : object
            Ignored, for API compatibility.

        Returns
        -------
        n_splits : int
        """
        return self.n_splits

    def split(self, X, y, groups=None):
        """Generate train and test indices.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (only its length is used).

        y : array-like of shape (n_samples,)
            Labels, -1 for unlabeled rows.

        groups : array-like of shape (n_samples,), default=None
            Group labels; see the class description.

        Yields
        ------
        train : ndarray
            Training indices: labeled training rows, then unlabeled rows.

        test : ndarray
            Test indices, all labeled.
        """
        y = column_or_1d(y)
        check_consistent_length(X, y, groups)
        unlabeled = unlabeled_mask(y)
        labeled_idx = np.flatnonzero(~unlabeled)
        unlabeled_idx = np.flatnonzero(unlabeled)
        if len(labeled_idx) < self.n_splits:
            raise ValueError(
                f"Cannot split {len(labeled_idx)} labeled samples (y != -1) into "
                f"n_splits={self.n_splits} folds."
            )
        kwargs = dict(
            n_splits=self.n_splits,
            shuffle=self.shuffle,
            random_state=self.random_state if self.shuffle else None,
        )
        y_labeled = y[labeled_idx]
        if groups is None:
            splits = StratifiedKFold(**kwargs).split(labeled_idx, y_labeled)
        else:
            groups = np.asarray(groups)
            splits = StratifiedGroupKFold(**kwargs).split(
                labeled_idx, y_labeled, groups[labeled_idx]
            )
        for train, test in splits:
            test = labeled_idx[test]
            extra = unlabeled_idx
            if groups is not None:
                extra = extra[~np.isin(groups[extra], groups[test])]
            yield np.concatenate([labeled_idx[train], extra]), test


class _LabeledScorer:
    """A scorer that evaluates another scorer on the rows with ``y != -1``."""

    def __init__(self, scorer):
        self.scorer = scorer

    def __call__(self, estimator, X, y, **kwargs):
        y = column_or_1d(y)
        check_consistent_length(X, y, kwargs.get("sample_weight"))
        labeled = np.flatnonzero(~unlabeled_mask(y))
        if len(labeled) == 0:
            raise ValueError("Cannot score: every value of y is -1 (unlabeled).")
        if kwargs.get("sample_weight") is not None:
            kwargs["sample_weight"] = np.asarray(kwargs["sample_weight"])[labeled]
        return self.scorer(estimator, _safe_indexing(X, labeled), y[labeled], **kwargs)

    def __repr__(self):
        return f"make_labeled_scorer({self.scorer!r})"


@validate_params(
    {"scoring": [str, callable, None]},
    prefer_skip_nested_validation=True,
)
def make_labeled_scorer(scoring=None):
    """Wrap a scorer so that it ignores unlabeled rows (``y == -1``).

    Use it as ``scoring=`` in :class:`~sklearn.model_selection.GridSearchCV`,
    :func:`~sklearn.model_selection.cross_validate` and friends. Needed for
    training scores (``return_train_score=True``: training folds contain the
    unlabeled rows) and for splitters other than
    :class:`SemiSupervisedStratifiedKFold`, whose test folds may contain -1.
    With that splitter and test scores only, an estimator's default ``score``
    is already correct, since its test folds are fully labeled.

    Parameters
    ----------
    scoring : str, callable or None, default=None
        Any scorer :func:`sklearn.metrics.check_scoring` accepts: a name such
        as ``"accuracy"`` or ``"f1_macro"``, a scorer callable, or None for the
        estimator's own ``score`` (evaluated on the labeled rows).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y, **kwargs)``; raises ``ValueError`` when
        every row is unlabeled.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.semi_supervised import LabelSpreading
    >>> from sklearn_pseudolabel.model_selection import make_labeled_scorer
    >>> X = np.array([[0.0], [0.1], [1.0], [1.1]])
    >>> y = np.array([0, -1, 1, -1])
    >>> model = LabelSpreading().fit(X, y)
    >>> model.score(X, y)  # counts the -1 rows as errors
    0.5
    >>> make_labeled_scorer("accuracy")(model, X, y)
    1.0
    """
    if scoring is None or isinstance(scoring, str):
        return _LabeledScorer(_NamedScorer(scoring))
    return _LabeledScorer(scoring)


class _NamedScorer:
    """Resolve a scoring name (or None) against the estimator being scored."""

    def __init__(self, scoring):
        self.scoring = scoring

    def __call__(self, estimator, X, y, **kwargs):
        return check_scoring(estimator, scoring=self.scoring)(estimator, X, y, **kwargs)

    def __repr__(self):
        return repr(self.scoring)
