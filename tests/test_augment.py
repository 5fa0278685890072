import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sklearn_pseudolabel import ImageAugmenter, RandomDistortion
from sklearn_pseudolabel._augment import (
    add_ink_noise,
    affine_grid,
    rotate,
    shift_rows,
)

# Tiny hypothesis images are shorter than max_shift on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:max_shift=.*image height")

_images = st.integers(1, 4).flatmap(
    lambda n: st.tuples(st.integers(2, 12), st.integers(2, 12)).flatmap(
        lambda hw: st.sampled_from([np.uint8, np.float32, np.float64]).flatmap(
            lambda dtype: arrays(
                dtype,
                (n, *hw),
                elements=st.integers(0, 255)
                if dtype == np.uint8
                else st.floats(0, 1, width=32),
            )
        )
    )
)


@settings(max_examples=40, deadline=None)
@given(X=_images, seed=st.integers(0, 1000))
def test_shape_dtype_and_range_preserved(X, seed):
    X_before = X.copy()
    out = ImageAugmenter(random_state=seed).transform(X)
    assert out.shape == X.shape and out.dtype == X.dtype
    high = 255 if X.dtype == np.uint8 else 1.0
    assert out.min() >= 0 and out.max() <= high
    np.testing.assert_array_equal(X, X_before)  # input untouched


@settings(max_examples=30, deadline=None)
@given(X=_images, seed=st.integers(0, 1000))
def test_zero_magnitudes_are_the_identity(X, seed):
    aug = ImageAugmenter(max_rotation=0, max_shift=0, noise_std=0, random_state=seed)
    np.testing.assert_array_equal(aug.transform(X), X)


@settings(max_examples=30, deadline=None)
@given(X=_images, seed=st.integers(0, 1000))
def test_noise_touches_only_ink(X, seed):
    out = ImageAugmenter(max_rotation=0, max_shift=0, random_state=seed).transform(X)
    background = X == 0
    np.testing.assert_array_equal(out[background], 0)


def test_noise_changes_ink_with_std_relative_to_range():
    X = np.full((200, 8, 8), 128, dtype=np.uint8)
    out = ImageAugmenter(max_rotation=0, max_shift=0, noise_std=0.05, random_state=0)
    diff = out.transform(X).astype(float) - 128
    assert diff.std() == pytest.approx(0.05 * 255, rel=0.05)


def test_same_seed_same_output_other_seed_other_output():
    X = np.random.RandomState(0).rand(10, 64).astype(np.float32)
    a = ImageAugmenter(random_state=1).transform(X)
    b = ImageAugmenter(random_state=1).transform(X)
    c = ImageAugmenter(random_state=2).transform(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_each_sample_gets_its_own_draw():
    X = np.tile(np.random.RandomState(0).rand(1, 16, 16), (8, 1, 1))
    out = ImageAugmenter(max_shift=0, noise_std=0, random_state=0).transform(X)
    assert len({o.tobytes() for o in out}) == 8


@settings(max_examples=25, deadline=None)
@given(X=arrays(np.float32, (3, 2, 9, 9), elements=st.floats(0, 1, width=32)))
def test_rotation_by_90_degrees_is_rot90(X):
    out = rotate(torch.tensor(X), torch.tensor([90.0, -90.0, 180.0])).numpy()
    for i, k in enumerate([1, -1, 2]):
        np.testing.assert_allclose(out[i], np.rot90(X[i], k, axes=(1, 2)), atol=1e-5)


def test_rotation_angles_stay_within_max_rotation():
    # A single ink pixel off-centre: its angle after rotation is bounded.
    X = np.zeros((300, 1, 41, 41), dtype=np.float32)
    X[:, 0, 20, 35] = 1.0  # 15 px right of centre, angle 0
    out = ImageAugmenter(max_rotation=30, max_shift=0, noise_std=0, random_state=0)
    out = out.transform(X)
    angles = []
    for img in out[:, 0]:
        r, c = np.unravel_index(np.argmax(img), img.shape)
        angles.append(np.degrees(np.arctan2(20 - r, c - 20)))
    angles = np.array(angles)
    assert np.abs(angles).max() <= 30 + 4  # + discretisation
    assert angles.min() < -20 and angles.max() > 20  # the whole range is used


@settings(max_examples=30, deadline=None)
@given(
    X=arrays(np.float32, (2, 1, 7, 5), elements=st.floats(0, 1, width=32)),
    k=st.integers(-8, 8),
)
def test_shift_by_k_rows_moves_image_by_k_rows(X, k):
    out = shift_rows(torch.tensor(X), torch.tensor([k, -k])).numpy()
    for i, kk in enumerate([k, -k]):
        expected = np.zeros_like(X[i])
        if kk >= 0:
            expected[:, kk:] = X[i][:, : 7 - kk] if kk < 7 else 0
        else:
            expected[:, :kk] = X[i][:, -kk:]
        np.testing.assert_array_equal(out[i], expected)


def test_transform_shift_is_between_1_and_max_shift():
    X = np.zeros((200, 20, 5), dtype=np.float32)
    X[:, 10, :] = 1.0
    out = ImageAugmenter(max_rotation=0, noise_std=0, max_shift=3, random_state=0)
    rows = out.transform(X).argmax(axis=1)[:, 0] - 10
    assert set(rows) == {-3, -2, -1, 1, 2, 3}


def test_add_ink_noise_clips():
    X = torch.full((1, 1, 50, 50), 0.5)
    out = add_ink_noise(X, 10.0, torch.Generator().manual_seed(0))
    assert out.min() >= 0 and out.max() <= 1
    assert ((out == 0) | (out == 1)).float().mean() > 0.9


def test_flat_input_with_image_shape_and_value_range():
    X = np.random.RandomState(0).rand(4, 3 * 6 * 6) * 16
    aug = ImageAugmenter(image_shape=(3, 6, 6), value_range=(0, 16), random_state=0)
    out = aug.fit_transform(X)
    assert out.shape == X.shape and out.max() <= 16
    assert aug.n_features_in_ == 108


def test_augment_tensor_for_the_classifier():
    X = torch.rand(5, 1, 8, 8)
    aug = ImageAugmenter(max_rotation=0, max_shift=0, noise_std=0)
    torch.testing.assert_close(aug.augment_tensor(X), X)
    out = ImageAugmenter().augment_tensor(X, torch.Generator().manual_seed(0))
    assert out.shape == X.shape and not torch.equal(out, X)


@pytest.mark.parametrize(
    "params, X, match",
    [
        (dict(max_rotation=-1), np.zeros((2, 64)), "max_rotation"),
        (dict(max_shift=1.5), np.zeros((2, 64)), "max_shift"),
        (dict(noise_std=-0.1), np.zeros((2, 64)), "noise_std"),
        (dict(combine="some"), np.zeros((2, 64)), "combine"),
        (dict(value_range=(1, 0)), np.zeros((2, 64)), "low < high"),
        ({}, np.full((2, 64), 2.0), "outside value_range"),
        (dict(image_shape=(7, 7)), np.zeros((2, 64)), "holds 49 values"),
        ({}, np.zeros((2, 64, 64, 64, 1)), "Found array with dim 5"),
        ({}, np.array([[np.nan] * 64]), "NaN"),
    ],
)
def test_errors(params, X, match):
    with pytest.raises(ValueError, match=match):
        ImageAugmenter(**params).transform(X)


def _shift_or_noise(combine, seed=0):
    X = np.zeros((300, 12, 12), dtype=np.uint8)
    X[:, 4:8, 3:9] = 200
    # std 0.1 of the range: noise cannot clip ink (200) to the background 0.
    aug = ImageAugmenter(max_rotation=0, noise_std=0.1, combine=combine)
    return X, aug.set_params(random_state=seed).transform(X)


def test_combine_one_applies_exactly_one_method_per_image():
    X, out = _shift_or_noise("one")
    shifted = np.array(
        [
            any(
                np.array_equal(o, np.roll(X[0], k, axis=0))
                for k in (-4, -3, -2, -1, 1, 2, 3, 4)
            )
            for o in out
        ]
    )
    same_mask = np.array([np.array_equal(o == 0, X[0] == 0) for o in out])
    # Shifted with the ink intact, or noisy ink in place: never both at once.
    assert (shifted ^ same_mask).all()
    assert 0.4 < shifted.mean() < 0.6  # the method is drawn uniformly
    assert not np.array_equal(out[same_mask], X[same_mask])  # noise applied


def test_combine_all_applies_every_method():
    X, out = _shift_or_noise("all")
    for o in out:
        assert not np.array_equal(o == 0, X[0] == 0)  # shifted
        assert set(np.unique(o[o > 0])) != {200}  # and noisy


def test_combine_one_leaves_the_input_untouched_and_is_seeded():
    X = torch.rand(16, 1, 10, 10)
    before = X.clone()
    aug = ImageAugmenter(combine="one")
    a = aug.augment_tensor(X, torch.Generator().manual_seed(3))
    b = aug.augment_tensor(X, torch.Generator().manual_seed(3))
    torch.testing.assert_close(X, before)
    torch.testing.assert_close(a, b)


def test_reversed_and_strided_input():
    X = np.zeros((6, 8, 8), dtype=np.uint8)
    X[:, 2:6, 3:5] = 200
    aug = ImageAugmenter(random_state=0)
    np.testing.assert_array_equal(
        aug.transform(X[::-1]), aug.transform(np.ascontiguousarray(X[::-1]))
    )
    assert aug.transform(np.flip(X, axis=2)).shape == X.shape


def test_warns_on_one_row_images_and_blanking_shifts():
    with pytest.warns(UserWarning, match="one row of 63 pixels"):
        ImageAugmenter(random_state=0).transform(np.zeros((3, 63)))
    with pytest.warns(UserWarning, match="max_shift=20 is at least the image height 8"):
        ImageAugmenter(max_shift=20, random_state=0).transform(np.zeros((3, 8, 8)))


@pytest.mark.parametrize("shape", [(7, 1, 28, 28), (3, 2, 5, 9), (1, 1, 1, 4)])
def test_affine_grid_is_torchs(shape):
    theta = torch.randn(shape[0], 2, 3, generator=torch.Generator().manual_seed(0))
    expected = torch.nn.functional.affine_grid(theta, list(shape), align_corners=False)
    torch.testing.assert_close(affine_grid(theta, shape), expected)


@settings(max_examples=20, deadline=None)
@given(
    X=arrays(np.float32, (2, 1, 9, 6), elements=st.floats(0, 1, width=32)),
    k=st.integers(-10, 10),
)
def test_rotation_by_0_with_rows_is_shift_rows(X, k):
    X = torch.tensor(X)
    rows = torch.tensor([k, -k])
    out = rotate(X, torch.zeros(2), rows=rows)
    torch.testing.assert_close(out, shift_rows(X, rows), atol=1e-5, rtol=0)


def test_rotation_with_rows_is_rotation_then_shift():
    # A blob far from the borders: nothing is cropped by either order.
    X = torch.zeros(4, 1, 31, 31)
    X[:, 0, 12:19, 13:17] = torch.rand(
        4, 7, 4, generator=torch.Generator().manual_seed(0)
    )
    degrees = torch.tensor([0.0, 20.0, -35.0, 45.0])
    rows = torch.tensor([3, -4, 0, 2])
    out = rotate(X, degrees, rows=rows)
    torch.testing.assert_close(
        out, shift_rows(rotate(X, degrees), rows), atol=1e-5, rtol=0
    )


def test_transform_in_chunks_draws_anew_for_every_chunk(monkeypatch):
    # transform works chunk by chunk; the draws must go on across chunks,
    # not restart: identical input images all get different augmentations.
    monkeypatch.setattr("sklearn_pseudolabel._augment._CHUNK", 4)
    X = np.zeros((10, 12, 12), dtype=np.uint8)
    X[:, 3:9, 5:7] = 200
    aug = ImageAugmenter(combine="all", random_state=0)
    out = aug.transform(X)
    assert out.shape == X.shape and out.dtype == np.uint8
    assert len({o.tobytes() for o in out}) == len(X)
    assert all(not np.array_equal(o, X[0]) for o in out)
    np.testing.assert_array_equal(out, aug.transform(X))


@pytest.mark.parametrize("Augmenter", [ImageAugmenter, RandomDistortion])
def test_stateless_augmenters_take_dataframes_without_fit(Augmenter):
    # As FunctionTransformer: transform needs no fit, and names no features.
    pd = pytest.importorskip("pandas")
    X = np.random.default_rng(0).random((5, 64))
    df = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(64)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = Augmenter(random_state=0).transform(df)
        fitted = Augmenter(random_state=0).fit(df)
        np.testing.assert_array_equal(fitted.transform(df), out)
    assert out.shape == (5, 64)
    assert list(fitted.get_feature_names_out()) == list(df.columns)
    assert list(fitted.get_feature_names_out(df.columns)) == list(df.columns)
    unnamed = Augmenter().fit(X)
    assert unnamed.get_feature_names_out()[:2].tolist() == ["x0", "x1"]
    with pytest.raises(ValueError, match="without n_features_in_"):
        Augmenter().get_feature_names_out()
    # A fitted augmenter checks what it saw, as any scikit-learn estimator.
    with pytest.warns(UserWarning, match="fitted without feature names"):
        unnamed.transform(df)
