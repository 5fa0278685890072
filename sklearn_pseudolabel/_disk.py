"""Images on disk: a memory-mapped array read batch by batch, never whole.

``fit`` and ``predict_proba`` take ``X`` as a :class:`numpy.memmap` (or a
row slice of one, e.g. from ``np.load(path, mmap_mode="r")``). Reading a
memory map through its mapping would keep every page it touched in the
process's memory; :class:`DiskImages` reads the rows of each batch from the
file instead, in DataLoader worker processes that read ahead while the
network trains, so that a fit's memory does not grow with the number of
rows.
"""

import mmap
import os

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

__all__ = ["DiskImages"]

#: Worker processes that read batches ahead of the training steps, and how
#: many batches each keeps ready.
_WORKERS = 2
_PREFETCH = 4
#: Rows per chunk of the passes over the whole file (range, hash).
_CHUNK_ROWS = 8192


class DiskImages:
    """The rows of a C-contiguous memory-mapped image array, read on demand.

    Indexing with a slice or an index tensor returns a float32 tensor
    ``(n, C, H, W)`` on ``device``, ``uint8`` pixels divided by 255, as the
    in-memory path does.

    Parameters
    ----------
    path : str
        The file.

    offset : int
        Byte position of the first row.

    n_rows : int
        Rows in the file from ``offset``.

    image_shape : tuple of int
        ``(C, H, W)`` of one row.

    file_dtype : numpy dtype
        The array's dtype (``uint8``, ``float32`` or ``float64``); indexing
        returns float32 tensors (``dtype``).

    device : str or torch.device, default="cpu"
        Where the tensors go.

    rows : ndarray of int or None, default=None
        The file rows this object shows, in order (a subset); None: all.
    """

    #: What indexing returns, as a float tensor would say.
    dtype = torch.float32

    def __init__(
        self, path, offset, n_rows, image_shape, file_dtype, device="cpu", rows=None
    ):
        self.path = path
        self.offset = offset
        self.n_rows = n_rows
        self.image_shape = tuple(image_shape)
        self.file_dtype = np.dtype(file_dtype)
        self.device = torch.device(device)
        self.rows = rows
        self._fd = self._pid = None

    @classmethod
    def from_array(cls, X, image_shape, device="cpu"):
        """Return ``DiskImages`` of a C-contiguous memmap ``X``, else None.

        ``X`` may be a row slice of the memory map the file was opened as.
        """
        if not isinstance(X, np.memmap) or not X.flags.c_contiguous:
            return None
        root = X
        while not isinstance(root.base, mmap.mmap):
            if not isinstance(root.base, np.ndarray):
                return None
            root = root.base
        start = root.offset + (X.ctypes.data - root.ctypes.data)
        return cls(X.filename, start, len(X), image_shape, X.dtype, device)

    # ------------------------------------------------------------- reading
    def __len__(self):
        return self.n_rows if self.rows is None else len(self.rows)

    @property
    def shape(self):
        """``(n, C, H, W)``."""
        return (len(self), *self.image_shape)

    def _file_rows(self, index):
        """Return the file rows of ``index`` (a slice, tensor or array)."""
        if isinstance(index, slice):
            positions = np.arange(len(self))[index]
        else:
            positions = torch.as_tensor(index).cpu().numpy()
        return positions if self.rows is None else self.rows[positions]

    def read(self, file_rows):
        """Return the file rows ``file_rows`` as an array ``(n, C, H, W)``."""
        if self._pid != os.getpid():  # a worker process opens its own
            self._fd, self._pid = os.open(self.path, os.O_RDONLY), os.getpid()
        size = self.file_dtype.itemsize * int(np.prod(self.image_shape))
        out = np.empty((len(file_rows), *self.image_shape), dtype=self.file_dtype)
        buffer = out.reshape(len(file_rows), -1).view(np.uint8)
        for i, row in enumerate(file_rows):
            buffer[i] = np.frombuffer(
                os.pread(self._fd, size, self.offset + int(row) * size), np.uint8
            )
        return out

    def to_tensor(self, array, non_blocking=False):
        """Return ``array`` (or a tensor of it) as float32 on the device."""
        tensor = torch.as_tensor(array).to(self.device, non_blocking=non_blocking)
        if tensor.dtype == torch.uint8:
            return tensor.to(torch.float32).div_(255.0)
        return tensor.to(torch.float32)

    def __getitem__(self, index):
        return self.to_tensor(self.read(self._file_rows(index)))

    def subset(self, index):
        """Return the images of ``index`` (rows of this object), on disk."""
        return DiskImages(
            self.path,
            self.offset,
            self.n_rows,
            self.image_shape,
            self.file_dtype,
            self.device,
            self._file_rows(index),
        )

    def batches(self, indices):
        """Yield ``self[i]`` for each index tensor of ``indices``, read ahead.

        Worker processes read the rows from the file into (pinned, on a GPU)
        host memory while the caller trains on the batches before.
        """
        loader = DataLoader(
            _Batches(self, [self._file_rows(i) for i in indices]),
            batch_size=None,
            num_workers=_WORKERS,
            prefetch_factor=_PREFETCH,
            pin_memory=self.device.type == "cuda",
            # Seeds the workers from a generator of its own: the fit's
            # random streams stay as they would be in memory.
            generator=torch.Generator(),
        )
        for batch in loader:
            yield self.to_tensor(batch, non_blocking=True)

    # ------------------------------------------------- passes over the file
    def chunks(self):
        """Yield the images in chunks of rows, as arrays."""
        for start in range(0, len(self), _CHUNK_ROWS):
            yield self.read(self._file_rows(slice(start, start + _CHUNK_ROWS)))

    def pixel_range(self):
        """Return the smallest and largest pixel value, read in chunks."""
        low, high = np.inf, -np.inf
        for chunk in self.chunks():
            low, high = min(low, chunk.min()), max(high, chunk.max())
        return low, high

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_fd"] = state["_pid"] = None  # descriptors stay in their process
        return state

    def __del__(self):
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)


class _Batches(Dataset):
    """The batches of an epoch, each a list of file rows, read by workers."""

    def __init__(self, images, file_rows):
        self.images = images
        self.file_rows = file_rows

    def __len__(self):
        return len(self.file_rows)

    def __getitem__(self, i):
        return torch.from_numpy(self.images.read(self.file_rows[i]))
