"""One progress bar for the whole of a fit (``verbose=1``)."""

import contextlib

from skorch.callbacks import Callback
from tqdm.auto import tqdm

__all__ = ["FitProgress", "fit_progress"]


@contextlib.contextmanager
def fit_progress(total_epochs, verbose, rank=0):
    """Yield the :class:`FitProgress` of a fit with ``verbose=1``, else None.

    With several processes, rank 0 shows it.
    """
    if verbose != 1 or rank != 0:
        yield None
        return
    progress = FitProgress(total_epochs)
    try:
        yield progress
    finally:
        progress.close()


class FitProgress:
    """A tqdm bar over every epoch of a fit's stages, and its prediction.

    Each stage names itself (:meth:`stage`); the bar shows the stage, the
    epochs done of the fit's total, the elapsed time and an estimate of the
    time left.

    Parameters
    ----------
    total_epochs : int
        Epochs of every stage together; the test-time prediction counts as
        one more step.
    """

    def __init__(self, total_epochs):
        self.bar = tqdm(total=total_epochs + 1, unit="epoch", dynamic_ncols=True)

    def stage(self, description, epochs):
        """Return the skorch callback of a stage of ``epochs`` epochs."""
        return _StageProgress(self.bar, description, epochs)

    @contextlib.contextmanager
    def predicting(self):
        """Show the test-time prediction while the block runs, then count it."""
        self.bar.set_description("test-time prediction")
        yield
        self.bar.update(1)

    def close(self):
        """Close the bar."""
        self.bar.close()


class _StageProgress(Callback):
    """Advance a fit's bar by one after each epoch of a stage's net.

    A stage that stops early (``early_stopping``) counts its remaining
    epochs at its end, so that the bar stays a count of the planned work.
    """

    def __init__(self, bar, description, epochs):
        self.bar = bar
        self.description = description
        self.epochs = epochs

    def on_train_begin(self, net, **kwargs):
        """Name the stage."""
        self.done_ = 0
        self.bar.set_description(self.description)

    def on_epoch_end(self, net, **kwargs):
        """Count the epoch."""
        self.done_ += 1
        self.bar.update(1)

    def on_train_end(self, net, **kwargs):
        """Count the epochs an early stop skipped; let go of the bar."""
        self.bar.update(self.epochs - self.done_)
        # The fitted net keeps its callbacks: it must pickle without the bar.
        self.bar = None
        del self.done_
