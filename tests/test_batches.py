import numpy as np
import pytest
import torch

from sklearn_pseudolabel._batches import EvalBatches, TensorDataset, TwoStreamBatches


def _dataset(n_labeled, n_unlabeled, seed=0):
    """Images whose single pixel is their row number; labels = row % 3."""
    n = n_labeled + n_unlabeled
    X = torch.arange(n, dtype=torch.float32).reshape(n, 1, 1, 1)
    y = torch.arange(n) % 3
    rows = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    y[rows[n_labeled:]] = -1
    return TensorDataset(X, y)


def _epoch(ds, bs, bsu, seed=0, use_unlabeled=True):
    stream = TwoStreamBatches(ds, bs, bsu, torch.Generator().manual_seed(seed))
    stream.use_unlabeled = use_unlabeled
    return stream, list(stream)


def test_epoch_is_one_pass_over_the_larger_stream():
    ds = _dataset(10, 50)
    stream, batches = _epoch(ds, 4, 8)
    assert len(stream) == len(batches) == 7  # ceil(50 / 8)
    unlabeled_rows = set(stream.unlabeled_idx.tolist())
    labeled_rows = set(stream.labeled_idx.tolist())
    seen_u, seen_l = [], []
    for X, y_l, pos_u in batches:
        assert len(y_l) == 4
        rows = X.flatten().long()
        lab, unl = rows[: len(y_l)], rows[len(y_l) :]
        assert set(lab.tolist()) <= labeled_rows
        torch.testing.assert_close(y_l, ds.y[lab])  # targets follow their images
        torch.testing.assert_close(unl, stream.unlabeled_idx[pos_u])
        seen_u += unl.tolist()
        seen_l += lab.tolist()
    assert sorted(seen_u) == sorted(unlabeled_rows)  # each unlabeled row once
    counts = np.bincount(seen_l, minlength=60)[sorted(labeled_rows)]
    assert counts.min() >= 2 and counts.max() <= 3  # labeled stream cycled


def test_larger_labeled_stream_and_short_last_batch():
    stream, batches = _epoch(_dataset(50, 10), 8, 4)
    assert len(batches) == 7
    assert [len(b[1]) for b in batches] == [8] * 6 + [2]
    assert all(len(b[2]) == 4 for b in batches)


def test_unlabeled_stream_can_be_switched_off():
    stream, batches = _epoch(_dataset(10, 50), 4, 8, use_unlabeled=False)
    assert len(batches) == 7
    assert all(len(pos) == 0 and len(X) == 4 for X, _, pos in batches)


def test_batch_sizes_capped_at_stream_size():
    stream, batches = _epoch(_dataset(3, 5), 128, 64)
    assert len(batches) == 1
    X, y_l, pos = batches[0]
    assert len(y_l) == 3 and len(pos) == 5


def test_reproducible_order():
    ds = _dataset(10, 50)
    a = [X for X, _, _ in _epoch(ds, 4, 8, seed=1)[1]]
    b = [X for X, _, _ in _epoch(ds, 4, 8, seed=1)[1]]
    c = [X for X, _, _ in _epoch(ds, 4, 8, seed=2)[1]]
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert not all(torch.equal(u, v) for u, v in zip(a, c))


@pytest.mark.parametrize("n, batch_size", [(10, 3), (9, 3), (1, 1024)])
def test_eval_batches_cover_data_in_order(n, batch_size):
    ds = TensorDataset(torch.arange(n, dtype=torch.float32))
    batches = list(EvalBatches(ds, batch_size))
    assert len(batches) == len(EvalBatches(ds, batch_size))
    torch.testing.assert_close(torch.cat([b for b, _ in batches]), ds.X)
