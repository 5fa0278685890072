import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_pseudolabel import hide_labels


def test_balanced_counts_and_values_kept():
    y = np.repeat(np.arange(10), 50)
    y_partial = hide_labels(y, n_labeled=100, random_state=0)
    kept = y_partial != -1
    assert kept.sum() == 100
    np.testing.assert_array_equal(np.bincount(y_partial[kept]), [10] * 10)
    np.testing.assert_array_equal(y_partial[kept], y[kept])


def test_input_not_mutated_and_reproducible():
    y = np.repeat(np.arange(3), 20)
    y_before = y.copy()
    a = hide_labels(y, 9, random_state=1)
    b = hide_labels(y, 9, random_state=1)
    c = hide_labels(y, 9, random_state=2)
    np.testing.assert_array_equal(y, y_before)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_balanced_with_a_small_class():
    y = np.array([0] * 2 + [1] * 50 + [2] * 50)
    y_partial = hide_labels(y, 30, random_state=0)
    np.testing.assert_array_equal(np.bincount(y_partial[y_partial != -1]), [2, 14, 14])


def test_proportional_and_random():
    y = np.array([0] * 80 + [1] * 20)
    y_prop = hide_labels(y, 10, stratify="proportional", random_state=0)
    np.testing.assert_array_equal(np.bincount(y_prop[y_prop != -1]), [8, 2])
    y_rand = hide_labels(y, 10, stratify=None, random_state=0)
    assert (y_rand != -1).sum() == 10


def test_string_labels_become_object_with_minus_one():
    y = np.array(["cat", "dog"] * 5)
    y_partial = hide_labels(y, 4, random_state=0)
    assert y_partial.dtype == object
    assert sum(v == -1 for v in y_partial) == 6
    assert sorted(v for v in y_partial if v != -1) == ["cat", "cat", "dog", "dog"]


def test_unsigned_labels_get_signed_dtype():
    y = np.arange(10, dtype=np.uint8)
    assert hide_labels(y, 5, random_state=0).dtype == np.int64


@settings(max_examples=50, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 30), min_size=2, max_size=6),
    frac=st.floats(0.01, 1.0),
    stratify=st.sampled_from(["balanced", "proportional", None]),
)
def test_exact_count_for_any_class_sizes(sizes, frac, stratify):
    y = np.repeat(np.arange(len(sizes)), sizes)
    n_labeled = max(1, int(frac * len(y)))
    y_partial = hide_labels(y, n_labeled, stratify=stratify, random_state=0)
    assert (y_partial != -1).sum() == n_labeled


@settings(max_examples=50, deadline=None)
@given(data=st.data(), stratify=st.sampled_from(["balanced", None]))
def test_draws_of_one_seed_are_nested(data, stratify):
    n_classes = data.draw(st.integers(2, 6))
    n_large = data.draw(st.integers(1, 60))
    n_small = data.draw(st.integers(1, n_large))
    share = -(-n_large // n_classes)
    sizes = data.draw(
        st.lists(st.integers(share, share + 20), min_size=n_classes, max_size=n_classes)
    )
    seed = data.draw(st.integers(0, 2**32 - 1))
    y = np.repeat(np.arange(n_classes), sizes)
    small = hide_labels(y, n_small, stratify=stratify, random_state=seed) != -1
    large = hide_labels(y, n_large, stratify=stratify, random_state=seed) != -1
    assert not (small & ~large).any()


@pytest.mark.parametrize(
    "y, n, match",
    [
        (np.arange(5), 6, "exceeds"),
        (np.array([0, 1, -1, 1]), 2, "already contains -1"),
        (np.arange(5), 0, "n_labeled"),
    ],
)
def test_errors(y, n, match):
    with pytest.raises(ValueError, match=match):
        hide_labels(y, n)


# ------------------------------------------------------------------ MNIST
import gzip  # noqa: E402

import torchvision  # noqa: E402

from sklearn_pseudolabel import fetch_mnist  # noqa: E402

from .conftest import mnist_home  # noqa: E402


def _fake_arrays(seed=0):
    rng = np.random.RandomState(seed)
    return {
        "x_train": rng.randint(0, 256, (6, 28, 28)).astype(np.uint8),
        "y_train": rng.randint(0, 10, 6).astype(np.uint8),
        "x_test": rng.randint(0, 256, (4, 28, 28)).astype(np.uint8),
        "y_test": rng.randint(0, 10, 4).astype(np.uint8),
    }


def _write_idx(path, array, compress=False):
    header = bytes([0, 0, 8, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    payload = header + array.tobytes()
    if compress:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)


def test_fetch_mnist_from_npz(tmp_path):
    arrays = _fake_arrays()
    (tmp_path / "mnist").mkdir()
    np.savez(tmp_path / "mnist" / "mnist.npz", **arrays)
    bunch = fetch_mnist(data_home=tmp_path, download_if_missing=False)
    assert bunch.data.shape == (6, 784) and bunch.data.dtype == np.uint8
    np.testing.assert_array_equal(bunch.images, arrays["x_train"])
    np.testing.assert_array_equal(bunch.target, arrays["y_train"])
    assert bunch.target.dtype == np.int64
    X, y = fetch_mnist(subset="all", data_home=str(tmp_path), return_X_y=True)
    assert X.shape == (10, 784)
    np.testing.assert_array_equal(y[6:], arrays["y_test"])


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated", None])
def test_unreadable_npz_names_the_file(tmp_path, content):
    (tmp_path / "mnist").mkdir()
    path = tmp_path / "mnist" / "mnist.npz"
    if content is None:
        np.savez(path, x_train=np.zeros(3))  # readable, keys missing
    else:
        path.write_bytes(content)
    with pytest.raises(OSError, match="mnist.npz is not a readable MNIST archive"):
        fetch_mnist(data_home=tmp_path, download_if_missing=False)


@pytest.mark.parametrize("layout", ["flat", "gz", "torchvision"])
def test_fetch_mnist_from_idx_files(tmp_path, layout):
    arrays = _fake_arrays(1)
    folder = tmp_path / "mnist"
    if layout == "torchvision":
        folder = folder / "MNIST" / "raw"
    folder.mkdir(parents=True)
    names = {
        "x_train": "train-images-idx3-ubyte",
        "y_train": "train-labels-idx1-ubyte",
        "x_test": "t10k-images-idx3-ubyte",
        "y_test": "t10k-labels-idx1-ubyte",
    }
    for key, name in names.items():
        _write_idx(folder / name, arrays[key], compress=layout == "gz")
    X, y = fetch_mnist(
        subset="test", data_home=tmp_path, download_if_missing=False, return_X_y=True
    )
    np.testing.assert_array_equal(X, arrays["x_test"].reshape(4, -1))
    np.testing.assert_array_equal(y, arrays["y_test"])


def test_fetch_mnist_respects_scikit_learn_data(tmp_path, monkeypatch):
    (tmp_path / "mnist").mkdir()
    np.savez(tmp_path / "mnist" / "mnist.npz", **_fake_arrays())
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path))
    assert fetch_mnist(download_if_missing=False).data.shape == (6, 784)


def test_fetch_mnist_missing_without_download(tmp_path):
    with pytest.raises(OSError, match="not found .* download_if_missing is False"):
        fetch_mnist(data_home=tmp_path, download_if_missing=False)


def test_fetch_mnist_download_failure_is_clear(tmp_path, monkeypatch):
    calls = []

    def offline(root, train, download):
        calls.append((root, train, download))
        raise RuntimeError("no route to host")

    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    with pytest.raises(OSError, match="Downloading MNIST into .* failed: no route"):
        fetch_mnist(data_home=tmp_path)
    assert calls == [(tmp_path / "mnist", True, True)]


def test_fetch_mnist_bad_idx_file(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ):
        (folder / name).write_bytes(b"not an idx file")
    with pytest.raises(OSError, match="not an IDX file"):
        fetch_mnist(data_home=tmp_path, download_if_missing=False)


@pytest.mark.skipif(mnist_home() is None, reason="shared MNIST copy not present")
def test_fetch_real_mnist():
    bunch = fetch_mnist(subset="all", data_home=mnist_home(), download_if_missing=False)
    assert bunch.data.shape == (70000, 784)
    np.testing.assert_array_equal(
        np.bincount(bunch.target[:60000]),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    )
    assert bunch.data[:60000].mean() == pytest.approx(33.318, abs=1e-3)
