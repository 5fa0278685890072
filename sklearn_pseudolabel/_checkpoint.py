"""Checkpoints of a fit, and resuming a fit from one (``checkpoint_dir``).

A fit's stages (the Pseudo-Label network, then each student) are skorch nets.
After every epoch of a stage, :class:`CheckpointStore` writes what the stage
needs to go on (the module's and the weight average's weights, the optimizer
and learning-rate schedule, the callbacks' and parts' state, the history and
every random stream) to ``checkpoint.pt``, atomically: written to a temporary
file, then renamed over the last one. A stage that ends writes its final
weights instead. The next ``fit`` on the same data with the same parameters
finds the file, restores the finished stages, resumes the stage in progress
from its last epoch and runs the rest: the result is bit-identical to an
uninterrupted fit on the same CPU. A checkpoint of other data or other
parameters is refused. The file is removed once the fit completes. In a
data-parallel fit rank 0 writes (each rank's random streams gathered) and
every rank resumes from the file.
"""

import hashlib
import json
import os
import pickle
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Callback, LRScheduler
from skorch.history import History

from ._distributed import all_objects, world
from .callbacks import WeightAverage

__all__ = ["CheckpointStore", "StageCheckpoint", "fit_stage", "open_store"]

#: The file of a fit's checkpoint, in ``checkpoint_dir``.
FILENAME = "checkpoint.pt"

#: Parameters that do not change what a fit computes: not fingerprinted.
_UNFINGERPRINTED = ("checkpoint_dir", "verbose", "callbacks")


def open_store(estimator, X, y, plan, ctrl_c=None):
    """Return the :class:`CheckpointStore` of a fit, or None without one.

    ``X`` and ``y`` are the validated rows and encoded labels, ``plan`` the
    fit's :class:`~sklearn_pseudolabel._plan.FitPlan`.
    """
    if estimator.checkpoint_dir is None:
        return None
    return CheckpointStore(
        estimator.checkpoint_dir, fingerprint(estimator, X, y, plan), ctrl_c
    )


def fingerprint(estimator, X, y, plan):
    """Return hashes of the training data and of what the fit will compute.

    ``X`` and ``y`` are the validated rows and encoded labels; ``plan`` the
    resolved :class:`~sklearn_pseudolabel._plan.FitPlan` (its seed stands for
    ``random_state``).
    """
    data = hashlib.sha256()
    for array in (X, y):
        dtype = getattr(array, "file_dtype", array.dtype)
        data.update(f"{dtype}{tuple(array.shape)}".encode())
        # Images on disk are read in chunks, never mapped whole.
        chunks = array.chunks() if hasattr(array, "chunks") else [array]
        for chunk in chunks:
            data.update(np.ascontiguousarray(chunk).data)
    params = {
        name: _describe(value)
        for name, value in estimator.get_params(deep=False).items()
        if name not in _UNFINGERPRINTED
    }
    # The same on every rank: the rank is not part of what is computed.
    plan_items = {
        name: _describe(value) for name, value in vars(plan).items() if name != "rank"
    }
    text = json.dumps([params, plan_items, torch.__version__], sort_keys=True)
    return {
        "data": data.hexdigest(),
        "parameters": hashlib.sha256(text.encode()).hexdigest(),
    }


def _describe(value):
    """Return a stable text for a parameter: callables by their full name."""
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{value.__module__}.{value.__qualname__}"
    return " ".join(repr(value).split())


class CheckpointStore:
    """The checkpoint file of one fit.

    Parameters
    ----------
    directory : str or path-like
        Where ``checkpoint.pt`` lives; created if missing.

    fingerprint : dict
        :func:`fingerprint` of the fit; a file of another fingerprint is
        refused.

    ctrl_c : object with a ``pressed`` attribute, or None
        The fit guards' Ctrl-C recorder: a stage that Ctrl-C ended is not
        recorded as finished.
    """

    def __init__(self, directory, fingerprint, ctrl_c=None):
        self.path = Path(directory) / FILENAME
        self.fingerprint = fingerprint
        self.ctrl_c = ctrl_c
        self.stages = self._load()

    def _load(self):
        """Return the stages of the file, checked against the fingerprint."""
        if not self.path.exists():
            return []
        state = torch.load(self.path, map_location="cpu", weights_only=False)
        for key, what in (("data", "other data"), ("parameters", "other parameters")):
            if state["fingerprint"][key] != self.fingerprint[key]:
                raise ValueError(
                    f"{self.path} holds the checkpoint of a fit on {what}: it "
                    "cannot be resumed by this one. Delete the file to start "
                    "afresh, or give this fit another checkpoint_dir."
                )
        return state["stages"]

    def record(self, index):
        """Return the saved state of stage ``index``, or None."""
        return self.stages[index] if index < len(self.stages) else None

    def save(self, index, record):
        """Write stage ``index``'s ``record`` atomically (write, then rename)."""
        del self.stages[index:]
        self.stages.append(record)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        state = {"fingerprint": self.fingerprint, "stages": self.stages}
        tmp = self.path.with_name(self.path.name + ".tmp")
        _write(state, tmp)
        os.replace(tmp, self.path)

    def remove(self):
        """Delete the checkpoint: the fit is complete (rank 0 deletes)."""
        if world()[0] == 0:
            self.path.unlink(missing_ok=True)


def _write(state, path):
    """Write ``state`` to ``path`` and flush it to the disk."""
    with open(path, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())


def fit_stage(net, X, y, store=None, index=0):
    """Fit stage ``index``'s initialized ``net``, resuming it from ``store``.

    Without a store, or with no record of the stage, the stage trains from
    the start (saving after every epoch when there is a store). A finished
    stage is restored as it ended; a stage in progress resumes after its
    last saved epoch.
    """
    record = None if store is None else store.record(index)
    if record is not None and record["finished"]:
        net.module_.load_state_dict(record["module"])
        net.history = History(record["history"])
        _set_rng(record["ranks"][net.rank]["rng"])
        return net
    if store is not None:
        saver = dict(net.callbacks_)["checkpoint"]
        saver.store, saver.index = store, index
    if record is None:
        return net.fit(X, y)
    net.history = History(record["history"])
    # The schedule is rebuilt at the epoch it reached (skorch's LRScheduler
    # reads the history), from the optimizer's state.
    net.optimizer_.load_state_dict(record["optimizer"])
    saver.restore = record
    remaining = net.max_epochs - len(record["history"])
    return net.partial_fit(X, y, epochs=remaining)


class StageCheckpoint(Callback):
    """Save a stage's state after every epoch; restore it when resuming.

    The last of a net's callbacks, so that it saves what every other one did
    in the epoch and restores what their ``on_train_begin`` set up.
    :func:`fit_stage` gives it the store, the stage's index and the record
    to restore.
    """

    def __init__(self):
        self.store = self.index = self.restore = None

    def on_train_begin(self, net, **kwargs):
        """Restore the stage's state, when resuming."""
        if self.restore is None:
            return
        record, self.restore = self.restore, None
        net.module_.load_state_dict(record["module"])
        callbacks = dict(net.callbacks_)
        for name, state in record["callbacks"].items():
            if name in callbacks:  # a user's callbacks may differ: not fingerprinted
                _set_callback_state(callbacks[name], state, net)
        # Again after the schedule, whose creation steps the learning rate.
        net.optimizer_.load_state_dict(record["optimizer"])
        mine = record["ranks"][net.rank]
        for part, state in zip(net._parts, mine["parts"]):
            _set_attributes(part, state)
        net.generator_.set_state(record["generator"])
        _set_rng(mine["rng"])

    def on_epoch_end(self, net, **kwargs):
        """Save the stage's state."""
        if self.store is None:
            return
        callbacks = {
            name: _callback_state(callback)
            for name, callback in net.callbacks_
            if name not in ("checkpoint", "progress", "print_log")
        }
        # What differs between the processes of a data-parallel fit (their
        # random streams) is gathered; rank 0 writes.
        mine = dict(
            parts=[_attributes(part) for part in net._parts],
            rng=_get_rng(net.device),
        )
        ranks = all_objects(mine, net.world_size)
        if net.rank != 0:
            return
        record = dict(
            finished=False,
            module=net.module_.state_dict(),
            optimizer=net.optimizer_.state_dict(),
            callbacks=callbacks,
            ranks=ranks,
            generator=net.generator_.get_state(),
            history=net.history.to_list(),
        )
        self.store.save(self.index, record)

    def on_train_end(self, net, **kwargs):
        """Save the stage's final weights, unless Ctrl-C ended it."""
        store = self.store
        self.store = None  # the fitted net keeps no reference to the file
        if store is None or (store.ctrl_c is not None and store.ctrl_c.pressed):
            return
        ranks = all_objects({"rng": _get_rng(net.device)}, net.world_size)
        if net.rank != 0:
            return
        record = dict(
            finished=True,
            module=net.module_.state_dict(),
            history=net.history.to_list(),
            ranks=ranks,
        )
        store.save(self.index, record)


def _get_rng(device):
    """Return torch's global random states (CPU, and the GPU's if used)."""
    state = {"cpu": torch.get_rng_state()}
    if torch.device(device).type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng(state):
    torch.set_rng_state(state["cpu"])
    if "cuda" in state:
        torch.cuda.set_rng_state_all(state["cuda"])


def _attributes(obj):
    """Return the per-fit (``_``-suffixed) attributes of ``obj`` that pickle.

    Generators are saved as their states.
    """
    state = {}
    for name, value in vars(obj).items():
        if not name.endswith("_"):
            continue
        if isinstance(value, torch.Generator):
            state[name] = ("generator", value.get_state())
            continue
        try:
            pickle.dumps(value)
        except Exception:  # e.g. a module or an open file: rebuilt instead
            continue
        state[name] = ("value", value)
    return state


def _set_attributes(obj, state):
    for name, (kind, value) in state.items():
        if kind == "generator":
            getattr(obj, name).set_state(value)
        else:
            setattr(obj, name, value)


def _callback_state(callback):
    """Return what a callback needs to go on after an epoch."""
    if isinstance(callback, WeightAverage):
        return {"model": callback.model_.state_dict(), "steps": callback.steps_}
    if isinstance(callback, LRScheduler):
        return {
            "scheduler": callback.lr_scheduler_.state_dict(),
            "batch_idx": getattr(callback, "batch_idx_", 0),
        }
    return _attributes(callback)


def _set_callback_state(callback, state, net):
    if isinstance(callback, WeightAverage):
        callback.model_.load_state_dict(state["model"])
        callback.steps_ = state["steps"]
    elif isinstance(callback, LRScheduler):
        callback.lr_scheduler_.load_state_dict(state["scheduler"])
        callback.batch_idx_ = state["batch_idx"]
    else:
        _set_attributes(callback, state)
