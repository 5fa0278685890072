"""The second stage of a fit: students distilled from the network's labels.

A round of Noisy Student (Xie et al., 2020): a fresh network, trained on
every row, the unlabeled ones under the labels that the network before it
predicts for them (with the test-time views, as the classifier predicts),
with the labeled view's augmentation and dropout as noise and no threshold.
Each student learns the labels of the one before; the last one predicts.
"""

from ._build import build_net
from ._checkpoint import fit_stage
from ._test_time import predict_classes

__all__ = ["train_students"]


def train_students(estimator, plan, data, net, progress=None, ctrl_c=None, store=None):
    """Train ``plan.student_rounds`` students, the first on ``net``'s labels.

    Returns the last student's net (None without a student) and the
    students' histories, in order. ``progress`` is a
    :class:`~sklearn_pseudolabel._progress.FitProgress` or None; ``ctrl_c``,
    the fit guards' recorder, is checked after each student; ``store`` is
    the fit's :class:`~sklearn_pseudolabel._checkpoint.CheckpointStore` or
    None.
    """
    student, histories = None, []
    for round_ in range(plan.student_rounds):
        stage = None
        if progress is not None:
            name = f"student {round_ + 1} of {plan.student_rounds}"
            stage = progress.stage(name, plan.student_epochs)
        teacher = net if student is None else student
        student = train_student(estimator, plan, data, teacher, round_, stage, store)
        histories.append(student.history)
        if ctrl_c is not None:
            ctrl_c.check()
    return student, histories


def train_student(estimator, plan, data, teacher, round_, progress=None, store=None):
    """Train student ``round_`` on the rows of ``data``, -1 rows by ``teacher``.

    The student has the teacher's architecture (but
    ``plan.student_channels``) and optimizer, fresh weights
    (``plan.student_seed(round_)``), ``plan.student_epochs`` epochs of its own
    learning-rate schedule, and the labeled view ``plan.augmenter``; every
    row counts as labeled. ``progress`` is a skorch callback or None;
    ``store`` the fit's checkpoints (the student is stage ``round_ + 1``).
    """
    y = data.y_train.clone()
    unlabeled = y < 0
    rows = unlabeled.nonzero()[:, 0]
    y[unlabeled] = predict_classes(teacher, plan.test_time_views, data.X_train, rows)
    student = build_net(
        estimator,
        plan,
        data,
        seed=plan.student_seed(round_),
        max_epochs=plan.student_epochs,
        augmenters=(plan.augmenter, None),
        channels=plan.student_channels,
        progress=progress,
        checkpoint=store is not None,
    )
    fit_stage(student, data.X_train, y, store, index=round_ + 1)
    student.train_split = None
    return student
