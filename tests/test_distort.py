import numpy as np
import pytest
import torch
from sklearn.base import clone

from sklearn_pseudolabel import RandomDistortion

OFF = dict(
    max_rotation=0.0,
    max_shear=0.0,
    max_scale=0.0,
    max_translation=0.0,
    elastic_alpha=0.0,
    stroke_probability=0.0,
    erase_size=0.0,
)


@pytest.fixture
def bars():
    X = np.zeros((16, 28, 28), dtype=np.uint8)
    X[:, 6:22, 12:16] = 255
    return X


def test_all_off_is_identity(bars):
    X_aug = RandomDistortion(**OFF, random_state=0).transform(bars)
    np.testing.assert_array_equal(X_aug, bars)


def test_shapes_dtypes_and_range_are_kept(bars):
    for X in (bars, bars.reshape(16, -1), bars[:, None] / 255.0):
        X_aug = RandomDistortion(random_state=0).transform(X)
        assert X_aug.shape == X.shape and X_aug.dtype == X.dtype
        assert X_aug.min() >= 0 and X_aug.max() <= (255 if X.dtype == np.uint8 else 1)
        assert (X_aug != X).any()


def test_same_seed_same_output_other_seed_other_output(bars):
    a = RandomDistortion(random_state=1).transform(bars)
    b = RandomDistortion(random_state=1).transform(bars)
    c = RandomDistortion(random_state=2).transform(bars)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_translation_moves_the_centre_of_mass(bars):
    X = bars.astype(np.float32) / 255
    X_aug = RandomDistortion(**{**OFF, "max_translation": 0.2}, random_state=0)
    X_aug = X_aug.transform(X)
    cols = np.arange(28)
    centre = (X.sum(1) * cols).sum(1) / X.sum((1, 2))
    moved = (X_aug.sum(1) * cols).sum(1) / X_aug.sum((1, 2))
    shift = np.abs(moved - centre)
    assert shift.max() > 1.0 and shift.max() <= 0.2 * 28 + 0.5


def test_scale_changes_the_ink_area(bars):
    X = bars.astype(np.float32) / 255
    X_aug = RandomDistortion(**{**OFF, "max_scale": 0.3}, random_state=0).transform(X)
    ratio = X_aug.sum((1, 2)) / X.sum((1, 2))
    # Area grows with scale²: within (0.7², 1.3²), and not all equal to 1.
    assert ratio.min() > 0.45 and ratio.max() < 1.75 and ratio.std() > 0.05


def test_rotation_is_rigid_on_a_square_image():
    X = torch.zeros(1, 1, 9, 9)
    X[0, 0, 4, :] = 1.0  # a horizontal line through the centre
    aug = RandomDistortion(**{**OFF, "max_rotation": 90.0})
    grid = aug._affine_grid(X, torch.Generator().manual_seed(0))
    out = torch.nn.functional.grid_sample(X, grid, align_corners=False)
    # The ink stays on a line through the centre and keeps (about) its mass.
    assert out.sum() == pytest.approx(X.sum(), rel=0.25)
    assert out[0, 0, 4, 4] == pytest.approx(1.0, abs=1e-5)


def test_erasing_only_sets_background(bars):
    X = bars.astype(np.float32) / 255
    X_aug = RandomDistortion(**{**OFF, "erase_size": 0.8}, random_state=0).transform(X)
    changed = X_aug != X
    assert changed.any()
    assert (X_aug[changed] == 0).all()


def test_stroke_is_a_horizontal_bar_of_ink_in_the_middle():
    X = np.zeros((400, 28, 28), dtype=np.uint8)
    aug = RandomDistortion(**{**OFF, "stroke_probability": 1.0}, random_state=0)
    X_aug = aug.transform(X)
    assert set(np.unique(X_aug)) == {0, 255}
    rows, cols = (X_aug > 0).any(axis=2), (X_aug > 0).any(axis=1)
    # Two full rows (1/14 of 28) of a bar 0.2-0.5 of the width long, centred
    # within 0.3-0.7 of each side.
    assert (rows.sum(1) == 2).all()
    assert (X_aug > 0).sum((1, 2)).tolist() == (2 * cols.sum(1)).tolist()
    assert cols.sum(1).min() >= 5 and cols.sum(1).max() <= 14
    centre_rows = np.argwhere(rows)[:, 1].reshape(-1, 2).mean(1) + 0.5
    assert centre_rows.min() >= 0.3 * 28 - 1 and centre_rows.max() <= 0.7 * 28 + 1
    assert np.ptp(centre_rows) > 5  # the place varies


def test_stroke_probability_is_the_share_of_images_drawn_on():
    X = np.zeros((2000, 1, 8, 8), dtype=np.float32)
    aug = RandomDistortion(**{**OFF, "stroke_probability": 0.3}, random_state=0)
    X_aug = aug.transform(X)
    drawn = X_aug.reshape(len(X), -1).max(1) == 1.0
    assert 0.25 < drawn.mean() < 0.35
    # At least one row on a small image.
    assert ((X_aug[drawn, 0] > 0).any(axis=2).sum(1) == 1).all()


def test_stroke_keeps_existing_ink(bars):
    X_aug = RandomDistortion(**{**OFF, "stroke_probability": 1.0}, random_state=0)
    X_aug = X_aug.transform(bars)
    assert (X_aug >= bars).all() and (X_aug != bars).any()


def test_elastic_keeps_mass_roughly_and_differs_per_image(bars):
    X = np.repeat(bars[:1], 4, axis=0).astype(np.float32) / 255
    aug = RandomDistortion(**{**OFF, "elastic_alpha": 34.0}, random_state=0)
    X_aug = aug.transform(X)
    assert not np.array_equal(X_aug[0], X_aug[1])
    ratio = X_aug.sum((1, 2)) / X.sum((1, 2))
    assert np.all((ratio > 0.7) & (ratio < 1.3))


def test_augment_tensor_is_batched_on_its_device():
    X = torch.rand(5, 3, 12, 20)
    g = torch.Generator().manual_seed(0)
    out = RandomDistortion().augment_tensor(X, generator=g)
    assert out.shape == X.shape and out.dtype == X.dtype
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(max_rotation=200.0), "max_rotation"),
        (dict(max_scale=1.0), "max_scale"),
        (dict(elastic_sigma=0.0), "elastic_sigma"),
        (dict(erase_size=1.5), "erase_size"),
        (dict(stroke_probability=-0.1), "stroke_probability"),
    ],
)
def test_invalid_parameters(bars, params, match):
    with pytest.raises(ValueError, match=match):
        RandomDistortion(**params).transform(bars)


def test_rejects_values_outside_range(bars):
    with pytest.raises(ValueError, match="outside value_range"):
        RandomDistortion().transform(bars.astype(np.float32))  # 0..255 floats


def test_clone_keeps_parameters():
    aug = RandomDistortion(max_shear=5.0, random_state=3)
    assert clone(aug).get_params() == aug.get_params()


@pytest.mark.parametrize(
    "shape, sigma", [((3, 2, 28, 28), 4.0), ((2, 1, 12, 20), 2.0), ((2, 1, 1, 6), 4.0)]
)
def test_blur_equals_torchvision(shape, sigma):
    from torchvision.transforms.v2.functional import gaussian_blur

    from sklearn_pseudolabel._distort import _gaussian_blur

    X = torch.rand(shape, generator=torch.Generator().manual_seed(0))
    _, _, height, width = shape
    kernel = [2 * min(int(3 * sigma), (n - 1) // 2) + 1 for n in (width, height)]
    torch.testing.assert_close(
        _gaussian_blur(X, sigma), gaussian_blur(X, kernel, [sigma, sigma])
    )
