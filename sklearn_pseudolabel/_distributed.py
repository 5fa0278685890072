"""One fit on several processes: the process group's rank, shards, collectives.

A fit runs data-parallel when ``torch.distributed`` has a process group of
more than one process (started by ``torchrun`` or ``init_process_group``):
every rank holds the same plan and draws the same global batches, trains on
its shard of each, and the gradients are all-reduced by
:class:`~torch.nn.parallel.DistributedDataParallel`. Without a process group
these helpers are no-ops, so that one process computes exactly as before.
"""

import torch
import torch.distributed as dist

__all__ = [
    "all_gather_rows",
    "all_mean",
    "all_objects",
    "broadcast_state",
    "shard",
    "world",
]


def world():
    """Return ``(rank, world_size)`` of the default process group, else (0, 1)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def shard(indices, rank, world_size):
    """Return this rank's part of a global batch and every part's size.

    The parts are consecutive (``tensor_split``), so that concatenating them
    in rank order gives back the global batch.
    """
    parts = indices.tensor_split(world_size)
    return parts[rank], [len(part) for part in parts]


def all_gather_rows(tensor, sizes):
    """Concatenate every rank's rows of ``tensor``, in rank order.

    ``sizes`` holds each rank's number of rows (known on every rank); the
    parts are padded to the largest for the collective.
    """
    longest = max(sizes)
    padded = tensor.new_zeros((longest, *tensor.shape[1:]))
    padded[: len(tensor)] = tensor
    parts = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(parts, padded)
    return torch.cat([part[:size] for part, size in zip(parts, sizes)])


def all_mean(tensor, world_size):
    """Return the mean of ``tensor`` over the ranks (``tensor`` itself alone)."""
    if world_size == 1:
        return tensor
    total = tensor.clone()
    dist.all_reduce(total)
    return total / world_size


def all_objects(obj, world_size):
    """Return the list of every rank's ``obj`` (``[obj]`` alone)."""
    if world_size == 1:
        return [obj]
    objects = [None] * world_size
    dist.all_gather_object(objects, obj)
    return objects


def broadcast_state(modules):
    """Give every rank rank 0's weights and buffers of ``modules``."""
    with torch.no_grad():
        for module in modules:
            for tensor in module.state_dict().values():
                dist.broadcast(tensor, src=0)
