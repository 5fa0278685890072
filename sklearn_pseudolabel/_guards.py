"""The guards around a fit: all or nothing, torch's RNG kept, Ctrl-C obeyed."""

import contextlib
import functools
import signal
import threading

import torch

__all__ = ["all_or_nothing", "fit_guards"]


def all_or_nothing(fit):
    """Decorate ``fit`` so that an error leaves the estimator as it was.

    Unfitted, or with its previous fit: its ``__dict__`` is restored on any
    exception, Ctrl-C included, which is then raised.
    """

    @functools.wraps(fit)
    def guarded_fit(estimator, *args, **kwargs):
        state = estimator.__dict__.copy()
        try:
            return fit(estimator, *args, **kwargs)
        except BaseException:
            estimator.__dict__.clear()
            estimator.__dict__.update(state)
            raise

    return guarded_fit


@contextlib.contextmanager
def fit_guards(device):
    """Run a fit on a fork of torch's global RNG, recording Ctrl-C.

    Yields a :class:`_SigintRecorder`; call its ``check()`` after each stage
    so that a Ctrl-C, which skorch swallows, stops the fit.
    """
    with _forked_rng(device), _SigintRecorder() as ctrl_c:
        yield ctrl_c


def _forked_rng(device):
    """Fork torch's global RNG (CPU and the training GPU) around a fit."""
    device = torch.device(device)
    devices = []
    if device.type == "cuda":
        devices = [device.index if device.index is not None else 0]
    return torch.random.fork_rng(devices=devices)


class _SigintRecorder:
    """Record a Ctrl-C (SIGINT) during ``fit``, then let it raise as usual.

    skorch ends training on ``KeyboardInterrupt`` without re-raising it, and
    its own ``EarlyStopping`` raises one to stop: only the signal tells a
    user's Ctrl-C apart. Signal handlers live in the main thread; elsewhere
    (e.g. a Dask worker thread) nothing is recorded.
    """

    def __enter__(self):
        self.pressed = False
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        self.pressed = True
        if callable(self._previous):
            self._previous(signum, frame)
        else:
            raise KeyboardInterrupt

    def check(self):
        """Raise ``KeyboardInterrupt`` if Ctrl-C was pressed.

        skorch swallows Ctrl-C and returns a half-trained net; like
        scikit-learn's estimators, stop the caller (a search too), leaving the
        estimator as it was.
        """
        if self.pressed:
            raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False
