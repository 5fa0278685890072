"""Datasets: the MNIST loader and label hiding for semi-supervised problems."""

import gzip
import os
import zipfile
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.datasets import get_data_home
from sklearn.utils import Bunch, check_random_state, column_or_1d
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._validation import unlabeled_mask

__all__ = ["fetch_mnist", "hide_labels"]

_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@validate_params(
    {
        "subset": [StrOptions({"train", "test", "all"})],
        "data_home": [str, os.PathLike, None],
        "download_if_missing": ["boolean"],
        "return_X_y": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def fetch_mnist(
    *, subset="train", data_home=None, download_if_missing=True, return_X_y=False
):
    """Load the MNIST handwritten digits (LeCun et al.), official split.

    Looks in ``<data_home>/mnist/`` for, in order: ``mnist.npz`` (arrays
    ``x_train``, ``y_train``, ``x_test``, ``y_test``), the four official IDX
    files (optionally gzipped), or torchvision's copy under ``MNIST/raw/``.
    When none is there and ``download_if_missing`` is True, downloads through
    :class:`torchvision.datasets.MNIST` into that folder.

    =================  ================
    Classes                          10
    Samples (train)               60000
    Samples (test)                10000
    Dimensionality                  784
    Features           integers 0 - 255
    =================  ================

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        The official 60,000 training images, the 10,000 test images, or all
        70,000 (training first).

    data_home : str or path-like, default=None
        Folder holding the ``mnist`` sub-folder. None: scikit-learn's data
        home (``~/scikit_learn_data`` or the ``SCIKIT_LEARN_DATA`` variable).

    download_if_missing : bool, default=True
        Download when no local copy exists; if False, raise ``OSError``.

    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (n, 784) uint8 rows, ``images`` (n, 28, 28) (a view of
        ``data``), ``target`` (n,) int64, ``target_names``, ``DESCR``.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    OSError
        If the files are absent and ``download_if_missing`` is False, or the
        download fails.

    Examples
    --------
    >>> from sklearn_pseudolabel import fetch_mnist
    >>> X, y = fetch_mnist(subset="test", return_X_y=True)  # doctest: +SKIP
    >>> X.shape, X.dtype                                    # doctest: +SKIP
    ((10000, 784), dtype('uint8'))
    """
    folder = Path(get_data_home(data_home)) / "mnist"
    arrays = _load_local(folder)
    if arrays is None:
        if not download_if_missing:
            raise OSError(
                f"MNIST not found in {folder} (looked for mnist.npz and the IDX "
                "files) and download_if_missing is False."
            )
        arrays = _download(folder)
    parts = ["train", "test"] if subset == "all" else [subset]
    images = np.concatenate([arrays[f"x_{p}"] for p in parts])
    target = np.concatenate([arrays[f"y_{p}"] for p in parts]).astype(np.int64)
    data = images.reshape(len(images), -1)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        images=data.reshape(-1, 28, 28),
        target=target,
        target_names=np.arange(10),
        DESCR=f"MNIST handwritten digits, official {subset} subset, from {folder}.",
    )


def _read_idx(path):
    """Read an IDX file (big-endian header, uint8 payload), gzipped or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise OSError(f"{path} is not an IDX file of unsigned bytes.")
    ndim = raw[3]
    shape = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4).astype(int)
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _find(folder, name):
    for directory in (folder, folder / "MNIST" / "raw"):
        for candidate in (directory / name, directory / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def _load_local(folder):
    """Arrays x_train, y_train, x_test, y_test from ``folder``, or None."""
    npz = folder / "mnist.npz"
    if npz.is_file():
        keys = ("x_train", "y_train", "x_test", "y_test")
        try:
            with open(npz, "rb") as file, np.load(file) as f:
                return {k: f[k] for k in keys}
        except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise OSError(
                f"{npz} is not a readable MNIST archive (an .npz file with "
                f"{', '.join(keys)}): {type(exc).__name__}: {exc}. Delete or "
                "replace it."
            ) from exc
    arrays = {}
    for part, names in _IDX_FILES.items():
        paths = [_find(folder, name) for name in names]
        if None in paths:
            return None
        arrays[f"x_{part}"], arrays[f"y_{part}"] = (_read_idx(p) for p in paths)
    return arrays


def _download(folder):
    from torchvision.datasets import MNIST

    try:
        for train in (True, False):
            MNIST(root=folder, train=train, download=True)
    except Exception as exc:  # network, checksum, disk: one clear error
        raise OSError(f"Downloading MNIST into {folder} failed: {exc}") from exc
    arrays = _load_local(folder)
    if arrays is None:
        raise OSError(f"MNIST download into {folder} left no readable files.")
    return arrays


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

    Notes
    -----
    Draws of one integer ``random_state`` are nested: the labels kept for a
    smaller ``n_labeled`` are among those kept for a larger one, with
    ``stratify=None``, and with ``stratify="balanced"`` when every class has
    at least ``ceil(n_labeled / n_classes)`` samples for the larger count. A
    curve over ``n_labeled`` thus adds labels to the same images.
    ``"proportional"`` makes no such promise.

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
