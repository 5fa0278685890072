"""The first stage of a fit: the network trained with Pseudo-Label."""

from ._build import build_net
from ._checkpoint import fit_stage

__all__ = ["train_pseudo_label_net"]


def train_pseudo_label_net(estimator, plan, data, progress=None, store=None):
    """Train and return the Pseudo-Label network of ``plan`` on ``data``.

    ``plan.max_epochs`` epochs of labeled and unlabeled batches, the weight
    of the pseudo-label loss ramping from 0 at ``plan.T1`` to
    ``estimator.alpha_f`` at ``plan.T2``; the labeled and unlabeled images
    seen through ``plan.augmenter`` and, from epoch
    ``plan.unlabeled_view_start`` on, ``plan.augmenter_unlabeled``.
    ``progress`` is a :class:`~sklearn_pseudolabel._progress.FitProgress` or
    None; ``store`` a :class:`~sklearn_pseudolabel._checkpoint.CheckpointStore`
    to save the epochs to (and resume from), or None.
    """
    stage = None
    if progress is not None:
        stage = progress.stage("Pseudo-Label epochs", plan.max_epochs)
    net = build_net(
        estimator,
        plan,
        data,
        seed=plan.seed,
        max_epochs=plan.max_epochs,
        T1=plan.T1,
        T2=plan.T2,
        alpha_f=estimator.alpha_f,
        augmenters=(plan.augmenter, plan.augmenter_unlabeled),
        unlabeled_view_start=plan.unlabeled_view_start,
        progress=stage,
        checkpoint=store is not None,
    )
    fit_stage(net, data.X_train, data.y_train, store, index=0)
    # The held-out images are not part of the fitted model.
    net.train_split = None
    return net
