import numpy as np
import pytest
from imblearn.pipeline import make_pipeline

from sklearn_pseudolabel import (
    AugmentationSampler,
    ImageAugmenter,
    PseudoLabelCNNClassifier,
)

from .conftest import TINY


def test_reference_expansion_counts():
    X = np.random.RandomState(0).randint(0, 256, (30, 28, 28)).astype(np.uint8)
    y = np.arange(30) % 3
    X_res, y_res = AugmentationSampler(random_state=0).fit_resample(X, y)
    assert X_res.shape == (30 + 3 * 10 * 30, 28, 28) and X_res.dtype == np.uint8
    np.testing.assert_array_equal(X_res[:30], X)  # originals first
    np.testing.assert_array_equal(y_res, np.tile(y, 31))
    no_orig = AugmentationSampler(keep_original=False, random_state=0)
    assert len(no_orig.fit_resample(X, y)[0]) == 900


def test_one_method_per_block_of_copies():
    X = np.zeros((4, 16, 16), dtype=np.float32)
    X[:, 4:12, 7:9] = 0.6
    y = np.array([0, 1, 0, 1])
    aug = ImageAugmenter(max_rotation=0, max_shift=2, noise_std=0.1)
    X_res, _ = AugmentationSampler(
        aug, n_copies=3, keep_original=False, random_state=0
    ).fit_resample(X, y)
    shifted, noisy = X_res[:12], X_res[12:]
    assert len(X_res) == 24  # rotation disabled: 2 methods x 3 copies x 4
    # Shift keeps pixel values; noise keeps positions.
    assert set(np.unique(shifted)) <= {0.0, np.float32(0.6)}
    np.testing.assert_array_equal(noisy == 0, np.tile(X == 0, (3, 1, 1)))


def test_unlabeled_rows_pass_through_once_at_the_end():
    X = np.random.RandomState(0).rand(6, 64)
    y = np.array([0, 1, -1, 1, -1, 0])
    X_res, y_res = AugmentationSampler(n_copies=2, random_state=0).fit_resample(X, y)
    assert X_res.shape == (4 + 24 + 2, 64)
    np.testing.assert_array_equal(X_res[-2:], X[[2, 4]])
    np.testing.assert_array_equal(y_res[-2:], [-1, -1])
    assert (y_res[:-2] != -1).all()


def test_string_minus_one_rows_are_unlabeled_too():
    X = np.random.RandomState(0).rand(6, 64)
    y = np.array(["a", "b", "-1", "b", "-1", "a"])
    X_res, y_res = AugmentationSampler(n_copies=2, random_state=0).fit_resample(X, y)
    assert X_res.shape == (4 + 24 + 2, 64)
    assert y_res[-2:].tolist() == ["-1", "-1"] and "-1" not in y_res[:-2]


def test_reproducible_and_input_untouched():
    X = np.random.RandomState(0).rand(5, 8, 8)
    y = np.arange(5) % 2
    X_copy = X.copy()
    a = AugmentationSampler(n_copies=2, random_state=3).fit_resample(X, y)[0]
    b = AugmentationSampler(n_copies=2, random_state=3).fit_resample(X, y)[0]
    c = AugmentationSampler(n_copies=2, random_state=4).fit_resample(X, y)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(X, X_copy)


def test_imblearn_pipeline_expands_at_fit_only(digits_partial):
    X, y = digits_partial
    X, y = X[:120], y[:120]
    clf = PseudoLabelCNNClassifier(**TINY, max_epochs=2, T1=0, T2=1, random_state=0)
    pipe = make_pipeline(AugmentationSampler(n_copies=1, random_state=0), clf)
    pipe.fit(X, y)
    n_lab = int((y != -1).sum())
    fitted = pipe[-1]
    assert len(fitted.transduction_) == n_lab * 4 + (len(y) - n_lab)
    assert pipe.predict(X).shape == (120,)  # no expansion at predict time


@pytest.mark.parametrize(
    "params, match",
    [(dict(n_copies=-1), "n_copies"), (dict(augmenter="rotate"), "augmenter")],
)
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        AugmentationSampler(**params).fit_resample(np.zeros((2, 4)), [0, 1])


def test_length_mismatch():
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        AugmentationSampler().fit_resample(np.zeros((3, 4)), [0, 1])
