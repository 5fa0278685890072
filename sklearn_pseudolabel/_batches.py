"""Mini-batch iterators over tensors that already live on the training device.

skorch's default ``DataLoader`` fetches one sample at a time in Python and
collates; for in-memory image tensors that is the slowest part of an epoch.
These iterators index whole batches at once instead, on the device that holds
the data, and draw their permutations from a dedicated ``torch.Generator``
so that training is reproducible without touching the global RNG.
"""

import math

import torch
from torch.utils.data import Dataset

from ._distributed import shard

__all__ = ["EvalBatches", "TensorDataset", "TwoStreamBatches", "steps_per_epoch"]


def steps_per_epoch(n_labeled, n_unlabeled, batch_size, batch_size_unlabeled):
    """Return the steps of an epoch: one pass over the larger stream.

    Batch sizes are capped at their stream's size.
    """
    n_steps = math.ceil(n_labeled / min(batch_size, n_labeled))
    if n_unlabeled:
        n_u = math.ceil(n_unlabeled / min(batch_size_unlabeled, n_unlabeled))
        n_steps = max(n_steps, n_u)
    return n_steps


class TensorDataset(Dataset):
    """Images ``X`` (a tensor) and optional targets ``y`` (-1 = unlabeled)."""

    def __init__(self, X, y=None):
        self.X = X
        self.y = y

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], (self.y[i] if self.y is not None else -1)


class EvalBatches:
    """Consecutive slices of a :class:`TensorDataset`, for inference.

    Yields ``(X_batch, y_batch)`` pairs, the format skorch's
    ``evaluation_step`` and ``validation_step`` unpack (``y_batch`` is None
    when the dataset has no targets).
    """

    def __init__(self, dataset, batch_size):
        self.X = dataset.X
        self.y = dataset.y
        self.batch_size = batch_size

    def __len__(self):
        return math.ceil(len(self.X) / self.batch_size)

    def __iter__(self):
        for start in range(0, len(self.X), self.batch_size):
            rows = slice(start, start + self.batch_size)
            yield self.X[rows], (self.y[rows] if self.y is not None else None)


def _index_batches(n, batch_size, n_steps, generator, device):
    """``n_steps`` batches of indices into ``range(n)``, on ``device``.

    A stream that fits ``n_steps`` exactly is one permutation whose last batch
    may be short; a smaller stream is cycled through fresh permutations in full
    batches. The permutations are drawn on the CPU and copied to the device
    once per epoch.
    """
    if math.ceil(n / batch_size) == n_steps:
        return torch.randperm(n, generator=generator).to(device).split(batch_size)
    reps = math.ceil(n_steps * batch_size / n)
    perm = torch.cat([torch.randperm(n, generator=generator) for _ in range(reps)])
    return perm[: n_steps * batch_size].to(device).split(batch_size)


class TwoStreamBatches:
    """Paired labeled and unlabeled mini-batches; one pass is one epoch.

    An epoch is one pass over the larger of the two streams; the smaller one is
    cycled. Each step yields ``(X, y_labeled, unlabeled_pos)``: ``X`` holds the
    labeled images of the step followed by the unlabeled ones (one gather, one
    forward pass), ``y_labeled`` their class indices and ``unlabeled_pos`` the
    positions of the unlabeled images in the unlabeled pool, for looking up
    their pseudo-labels.

    Parameters
    ----------
    dataset : TensorDataset
        Training images and targets, ``y == -1`` for unlabeled rows.

    batch_size, batch_size_unlabeled : int
        Batch sizes of the two streams (capped at the stream sizes).

    generator : torch.Generator
        Source of the permutations (CPU).

    rank, world_size : int, default=0, 1
        With several processes, every rank draws the same global batches (the
        same ``generator`` seed) and yields its consecutive share of each, as
        ``(X, y_labeled, unlabeled_pos, shard)``: ``unlabeled_pos`` then
        holds the global batch's positions and ``shard`` the slice of them
        that this rank's images are.
    """

    def __init__(
        self,
        dataset,
        batch_size,
        batch_size_unlabeled,
        generator,
        rank=0,
        world_size=1,
    ):
        self.X = dataset.X
        is_labeled = dataset.y >= 0
        self.labeled_idx = torch.nonzero(is_labeled).flatten()
        self.unlabeled_idx = torch.nonzero(~is_labeled).flatten()
        self.y_labeled = dataset.y[self.labeled_idx]
        self.batch_size = min(batch_size, len(self.labeled_idx))
        self.batch_size_unlabeled = min(batch_size_unlabeled, len(self.unlabeled_idx))
        self.generator = generator
        self.rank, self.world_size = rank, world_size
        #: Set per epoch by the net: False skips unlabeled images (when α = 0).
        self.use_unlabeled = True

    @property
    def n_unlabeled(self):
        """Size of the unlabeled pool."""
        return len(self.unlabeled_idx)

    def __len__(self):
        return steps_per_epoch(
            len(self.labeled_idx),
            self.n_unlabeled,
            self.batch_size,
            self.batch_size_unlabeled,
        )

    def __iter__(self):
        n_steps = len(self)
        device = self.X.device
        labeled = _index_batches(
            len(self.labeled_idx), self.batch_size, n_steps, self.generator, device
        )
        if self.use_unlabeled and self.n_unlabeled:
            unlabeled = _index_batches(
                self.n_unlabeled,
                self.batch_size_unlabeled,
                n_steps,
                self.generator,
                device,
            )
        else:
            unlabeled = [torch.empty(0, dtype=torch.long, device=device)] * n_steps
        steps = zip(labeled, unlabeled)
        if self.world_size > 1:
            steps = self._shards(steps)
        if hasattr(self.X, "batches"):  # on disk: read ahead by workers
            yield from self._read_ahead(steps)
            return
        # A step: the positions of its labeled and unlabeled images, then
        # (several processes) the global batch's unlabeled positions and
        # this rank's slice of them.
        for pos_l, pos_u, *shared in steps:
            rows = torch.cat([self.labeled_idx[pos_l], self.unlabeled_idx[pos_u]])
            yield self.X[rows], self.y_labeled[pos_l], *(shared or [pos_u])

    def _shards(self, steps):
        """Yield this rank's share of each global batch, and its positions.

        ``(labeled positions, unlabeled positions, the global batch's
        unlabeled positions, their slice that this rank holds)``.
        """
        for pos_l, pos_u in steps:
            pos_l, _ = shard(pos_l, self.rank, self.world_size)
            mine, sizes = shard(pos_u, self.rank, self.world_size)
            start = sum(sizes[: self.rank])
            yield pos_l, mine, pos_u, slice(start, start + len(mine))

    def _read_ahead(self, steps):
        """Yield the steps of images on disk, their reads run ahead."""
        steps = list(steps)
        rows = [
            torch.cat([self.labeled_idx[step[0]], self.unlabeled_idx[step[1]]])
            for step in steps
        ]
        for X, (pos_l, pos_u, *shared) in zip(self.X.batches(rows), steps):
            yield X, self.y_labeled[pos_l], *(shared or [pos_u])
