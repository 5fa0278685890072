"""Dataset helpers: hiding labels to simulate a semi-supervised problem."""

from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._validation import unlabeled_mask

__all__ = ["hide_labels"]


@validate_params(
    {
        "y": ["array-like"],
        "n_labeled": [Interval(Integral, 1, None, closed="left")],
        "stratify": [StrOptions({"balanced", "proportional"}), None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def hide_labels(y, n_labeled, *, stratify="balanced", random_state=None):
    """Keep ``n_labeled`` labels of ``y`` and mark the rest unlabeled (-1).

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Fully labeled targets. Not modified.

    n_labeled : int
        Number of labels to keep, at most ``n_samples``.

    stratify : {"balanced", "proportional"} or None, default="balanced"
        How the kept labels are spread over classes. ``"balanced"``: the same
        number per class (Lee's protocol: 100 labels = 10 per digit); classes
        too small for their share give all their samples and the remainder
        goes to the others, and ``n_labeled % n_classes`` extra labels go to
        randomly chosen classes. ``"proportional"``: per-class counts
        proportional to class frequencies (largest remainders). None: a
        uniform random subset.

    random_state : int, RandomState instance or None, default=None
        Seed of the draw.

    Returns
    -------
    y_partial : ndarray of shape (n_samples,)
        Copy of ``y`` with unkept labels set to -1 (object dtype for string
        labels, so that -1 can sit beside them).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_pseudolabel import hide_labels
    >>> y = np.repeat([0, 1, 2], 10)
    >>> y_partial = hide_labels(y, n_labeled=6, random_state=0)
    >>> np.bincount(y_partial[y_partial != -1])
    array([2, 2, 2])
    >>> int((y_partial == -1).sum())
    24
    """
    y = column_or_1d(y)
    if n_labeled > len(y):
        raise ValueError(f"n_labeled={n_labeled} exceeds the {len(y)} samples of y.")
    if unlabeled_mask(y).any():
        raise ValueError("y already contains -1 (unlabeled) values.")
    rng = check_random_state(random_state)
    if stratify is None:
        counts = None
    else:
        classes, y_idx = np.unique(y, return_inverse=True)
        sizes = np.bincount(y_idx)
        counts = _per_class_counts(sizes, n_labeled, stratify, rng)

    if counts is None:
        keep = rng.choice(len(y), size=n_labeled, replace=False)
    else:
        keep = np.concatenate(
            [
                rng.choice(np.flatnonzero(y_idx == k), size=c, replace=False)
                for k, c in enumerate(counts)
            ]
        )
    # -1 must fit beside the labels: strings go to object, unsigned to int64.
    dtype = {"U": object, "S": object, "u": np.int64}.get(y.dtype.kind, y.dtype)
    y_partial = np.full(len(y), -1, dtype=dtype)
    y_partial[keep] = y[keep]
    return y_partial


def _per_class_counts(sizes, n_labeled, stratify, rng):
    """Labels kept per class, summing to ``n_labeled``, each <= its class size."""
    if stratify == "proportional":
        exact = sizes * n_labeled / sizes.sum()
        counts = np.floor(exact).astype(int)
        order = np.argsort(-(exact - counts), kind="stable")
        counts[order[: n_labeled - counts.sum()]] += 1
        return counts
    counts = np.zeros_like(sizes)
    remaining = n_labeled
    open_ = sizes > 0
    while remaining > 0:
        # Equal shares over the classes that still have unlabeled samples.
        share, extra = divmod(remaining, open_.sum())
        add = np.where(open_, share, 0)
        add[rng.choice(np.flatnonzero(open_), size=extra, replace=False)] += 1
        add = np.minimum(add, sizes - counts)
        counts += add
        remaining -= add.sum()
        open_ = counts < sizes
    return counts
