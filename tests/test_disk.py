"""Images on disk: a memory-mapped X trains and predicts as the array does."""

import pickle

import numpy as np
import pytest
import torch

from sklearn_pseudolabel._disk import DiskImages

from .conftest import make_clf


@pytest.fixture
def on_disk(tmp_path, digits_partial):
    """The digits as uint8 images in a .npy file, opened memory-mapped."""
    X, y = digits_partial
    images = np.round(X * 255).astype(np.uint8).reshape(-1, 8, 8)
    np.save(tmp_path / "digits.npy", images)
    return images, np.load(tmp_path / "digits.npy", mmap_mode="r"), y


def test_disk_images_read_the_rows_of_the_file(on_disk):
    images, mapped, _ = on_disk
    disk = DiskImages.from_array(mapped, (1, 8, 8))
    expected = torch.as_tensor(images).float().div(255).reshape(-1, 1, 8, 8)
    assert len(disk) == 400 and disk.shape == (400, 1, 8, 8)
    torch.testing.assert_close(disk[:], expected, rtol=0, atol=0)
    rows = torch.tensor([399, 0, 17, 17])
    torch.testing.assert_close(disk[rows], expected[rows], rtol=0, atol=0)
    # A row slice of the map reads from its own first row on.
    part = DiskImages.from_array(mapped[100:200], (1, 8, 8))
    torch.testing.assert_close(part[:], expected[100:200], rtol=0, atol=0)
    subset = disk.subset(torch.tensor([5, 6, 7]))
    torch.testing.assert_close(subset[1:], expected[6:8], rtol=0, atol=0)
    assert disk.pixel_range() == (images.min(), images.max())
    # Read ahead by worker processes: the same batches, in order.
    batches = [torch.arange(0, 50), torch.tensor([3, 1, 2]), torch.arange(350, 400)]
    for got, index in zip(disk.batches(batches), batches):
        torch.testing.assert_close(got, expected[index], rtol=0, atol=0)
    # It pickles without its file descriptor.
    again = pickle.loads(pickle.dumps(disk))
    torch.testing.assert_close(again[rows], expected[rows], rtol=0, atol=0)


def test_only_a_contiguous_memory_map_is_read_from_disk(on_disk):
    images, mapped, _ = on_disk
    assert DiskImages.from_array(images, (1, 8, 8)) is None  # in memory
    assert DiskImages.from_array(mapped[:, ::2], (1, 4, 8)) is None  # strided


@pytest.mark.parametrize(
    "params",
    [
        dict(student_epochs=2, augmenter="auto"),
        dict(refresh="epoch", early_stopping=True, validation_fraction=0.2),
    ],
)
def test_a_fit_on_disk_equals_the_fit_in_memory(on_disk, params):
    images, mapped, y = on_disk
    in_memory = make_clf(**params).fit(images, y)
    on_file = make_clf(**params).fit(mapped, y)
    np.testing.assert_array_equal(
        on_file.predict_proba(mapped), in_memory.predict_proba(images)
    )
    np.testing.assert_array_equal(on_file.transduction_, in_memory.transduction_)
    np.testing.assert_array_equal(
        on_file.history_[:, "train_loss"], in_memory.history_[:, "train_loss"]
    )
    # The fitted model holds no reference to the file.
    assert "digits.npy" not in pickle.dumps(on_file).decode("latin-1")
