r"""Hard or soft labels for the student: which teaches it better.

A screen for the accuracy work (issue 11), on default fits of MNIST with one
student (``--save DIR`` of ``bench_lee_table.py``, 500 labels or more, where
``student_rounds="auto"`` trains one). ``fit`` trains its student on the
most probable class that the Pseudo-Label network (``net_``) gives each
unlabeled row, averaged over the fit's 8 fixed warps: about 1 % of those
labels are wrong with 1,000 to 3,000 labels, and the student copies them.
For each model file and each of ``--students K`` seeds, this screen trains
students that differ only in their targets (``--arms``, default hard and
soft):

- ``hard``: exactly as ``fit`` trains its own (the classifier's
  ``_build_student``): the most probable class;
- ``soft``: the same network, labeled augmentation, schedule, initial
  weights and batches (same seed), trained by cross-entropy towards the
  network's probabilities, sharpened by ``--temperature T`` (``p^(1/T)``,
  renormalised), for the unlabeled rows and towards the one-hot label for
  the labeled ones (knowledge distillation), so that a doubtful row counts
  as doubtful;
- ``true`` (``--arms``): the unlabeled rows' true labels, a ceiling: what
  the student would reach without its teacher's wrong labels.

``--channels C1 C2 C3`` gives every student of the run those convolution
channels (the classifier cloned with them: what ``student_channels`` does
inside ``fit``), to compare with a run of the fit's width on the same seeds;
``--epochs E`` trains them for E epochs instead of the fit's student's (the
learning-rate schedule spans the E epochs, as ``student_epochs`` does).

Each student is scored on the official 10,000 test images with the fit's
warps. Pairs share everything but the targets, so the per-seed change is
the targets' effect; the spread between seeds is the noise it must beat.
Every run is a line of ``benchmarks/results/student_targets_screen.jsonl``;
the section of docs/benchmarks.md is rebuilt from that file.

    .venv/bin/python benchmarks/screen_student_targets.py --models M --seeds 0
    .venv/bin/python benchmarks/screen_student_targets.py --models M --seeds 0 \
        --n-labeled 3000 --students 2 --arms hard soft true
    .venv/bin/python benchmarks/screen_student_targets.py --report-only
"""

import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from _report import (
    ROOT,
    commands_block,
    error_percent,
    load_one_student_fit,
    log_run,
    mean_std,
    mnist_home,
    parse_saved_models,
    proba_error,
    read_log,
    saved_models_parser,
    table,
    write_section,
)
from sklearn.base import clone

from sklearn_pseudolabel import fetch_mnist
from sklearn_pseudolabel._classifier import _predict_proba

LOG = ROOT / "benchmarks" / "results" / "student_targets_screen.jsonl"

#: The students' targets (``--arms``): what each learns for the unlabeled rows.
ARMS = {
    "hard": "the Pseudo-Label network's most probable class (what fit does)",
    "soft": "its probabilities, sharpened by T",
    "true": "their true labels (a ceiling: the student without wrong labels)",
}

#: Seeds of the students: draw * 10 + k + this, unlike any fit's own and
#: unlike the ensemble screen's (2000).
SEED_OFFSET = 3000


class RowTargetCrossEntropy(torch.nn.Module):
    """Cross-entropy of logits against rows of a table of target probabilities.

    The soft student is fitted with ``y`` = its rows' indices, so that the
    labeled stream hands this criterion the rows whose targets it looks up.
    """

    def __init__(self, targets):
        super().__init__()
        self.targets = targets

    def forward(self, logits, rows):
        """Mean cross-entropy of ``logits`` against the targets of ``rows``."""
        return F.cross_entropy(logits, self.targets[rows])


def soft_targets(proba, y, temperature):
    """Targets of every row: one-hot where ``y >= 0``, else sharpened ``proba``."""
    sharpened = proba ** (1 / temperature)
    targets = sharpened / sharpened.sum(1, keepdim=True)
    labeled = y >= 0
    return torch.where(
        labeled[:, None], F.one_hot(y.clamp(min=0), proba.shape[1]).float(), targets
    )


def train_student(clf, builder, targets, X, y, seed, epochs):
    """Train one student of ``clf`` on ``targets`` ("hard" or a soft table).

    ``builder`` is the classifier whose network the student gets: ``clf``,
    or a clone of it with other ``channels`` (``--channels``).
    """
    torch.manual_seed(seed)
    if isinstance(targets, str):
        # The fit's own procedure: the teacher's argmax, as class labels.
        return builder._build_student(
            clf.net_,
            clf._test_time_views,
            X,
            y,
            clf.image_shape_,
            clf.classes_,
            seed,
            None,
            epochs,
        )
    # What _build_student builds, but its criterion reads the soft table.
    student = builder._build_net(
        clf.image_shape_,
        clf.classes_,
        seed,
        valid=None,
        schedule=dict(max_epochs=epochs, T1=0, T2=0),
        augmenters=(clf.net_.views.labeled, None),
        alpha_f=0.0,
    )
    student.set_params(criterion=RowTargetCrossEntropy, criterion__targets=targets)
    student.fit(X, torch.arange(len(X), device=X.device))
    return student


def main():
    if sys.argv[1:] == ["--report-only"]:
        report()
        return
    parser = saved_models_parser()
    parser.add_argument("--students", type=int, default=2, help="seeds per arm")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument(
        "--arms", nargs="+", choices=list(ARMS), default=["hard", "soft"]
    )
    parser.add_argument(
        "--channels",
        type=int,
        nargs=3,
        help="the students' channels (default: the fit's network)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        help="the students' epochs (default: those of the fit's student)",
    )
    args = parse_saved_models(parser)
    if args.temperature <= 0:
        parser.error("--temperature must be positive")
    if args.epochs is not None and args.epochs < 1:
        parser.error("--epochs must be at least 1")
    X, y = fetch_mnist(data_home=mnist_home(), return_X_y=True)
    X_test, y_test = fetch_mnist(subset="test", data_home=mnist_home(), return_X_y=True)
    for path, seed in zip(args.models, args.seeds):
        clf, X_train, y_train = load_one_student_fit(path, X, y, args.n_labeled, seed)
        views, classes = clf._test_time_views, clf.classes_
        unlabeled = (y_train < 0).cpu().numpy()
        proba = _predict_proba(clf.net_, views, X_train)
        soft = soft_targets(proba, y_train, args.temperature)
        targets = {
            "hard": "hard",
            "soft": soft,
            "true": F.one_hot(
                torch.as_tensor(y, device=X_train.device).long(), len(classes)
            ).float(),
        }
        X_eval = clf._image_tensor(X_test)
        builder = clf
        if args.channels:
            builder = clone(clf).set_params(channels=tuple(args.channels))
        epochs = args.epochs or len(clf.student_net_.history)
        errors = {arm: [] for arm in args.arms}
        minutes = {arm: [] for arm in args.arms}
        for k in range(args.students):
            student_seed = SEED_OFFSET + 10 * seed + k
            for arm in args.arms:
                start = time.perf_counter()
                student = train_student(
                    clf, builder, targets[arm], X_train, y_train, student_seed, epochs
                )
                minutes[arm].append(round((time.perf_counter() - start) / 60, 2))
                errors[arm].append(
                    proba_error(_predict_proba(student, views, X_eval), classes, y_test)
                )
                print(arm, k, errors[arm][-1], minutes[arm][-1], flush=True)
        run = log_run(
            LOG,
            dict(
                model=Path(path).name,
                n_labeled=args.n_labeled,
                seed=seed,
                student_epochs=epochs,
                student_channels=args.channels,
                precision=clf.net_.precision,
                temperature=args.temperature,
                teacher_error=proba_error(
                    _predict_proba(clf.net_, views, X_eval), classes, y_test
                ),
                teacher_unlabeled_error=error_percent(
                    proba.argmax(1).cpu().numpy()[unlabeled], y[unlabeled]
                ),
                # Mean probability the soft targets give the teacher's class
                # on the unlabeled rows: how far from hard they are.
                soft_top_mass=round(
                    float(soft[torch.as_tensor(unlabeled)].max(1).values.mean()), 4
                ),
                fit_student_error=proba_error(
                    _predict_proba(clf.student_net_, views, X_eval), classes, y_test
                ),
                errors=errors,
                minutes=minutes,
            ),
        )
        print(run, flush=True)
    report()


def _arm_cell(errors):
    """``"e1, e2 (mean m)"`` of one arm's students, "–" if it did not run."""
    if not errors:
        return "–"
    cell = ", ".join(f"{e:.2f}" for e in errors)
    return f"{cell} (**{np.mean(errors):.2f}**)" if len(errors) > 1 else cell


def _soft_changes(run):
    """Return soft - hard, per seed, of a run that trained both arms."""
    errors = run["errors"]
    if not {"hard", "soft"} <= errors.keys():
        return []
    return list(np.subtract(errors["soft"], errors["hard"]))


def report():
    runs = read_log(LOG)
    rows = [
        [
            r["model"],
            r["n_labeled"],
            r["seed"],
            f"{r['teacher_error']:.2f}",
            f"{r['teacher_unlabeled_error']:.2f}",
            f"{r['fit_student_error']:.2f}",
            "/".join(map(str, r["student_channels"]))
            if r.get("student_channels")
            else "the fit's",
            r["student_epochs"],
            *(_arm_cell(r["errors"].get(arm)) for arm in ARMS),
            f"{r['temperature']:g}, {r['soft_top_mass']:.3f}"
            if "soft" in r["errors"]
            else "–",
            ", ".join(f"{d:+.2f}" for d in _soft_changes(r)) or "–",
            ", ".join(f"{arm} {np.mean(m):.1f}" for arm, m in r["minutes"].items()),
        ]
        for r in runs
    ]
    header = [
        "model file",
        "labels",
        "draw",
        "Pseudo-Label network",
        "its unlabeled-row error",
        "the fit's student",
        "students' channels",
        "students' epochs",
        *(f"{arm} students (mean)" for arm in ARMS),
        "T, soft top mass",
        "soft - hard, per seed",
        "student fit (min)",
    ]
    changes = [d for r in runs for d in _soft_changes(r)]
    summary = (
        f"Over the {len(changes)} pairs: soft - hard {mean_std(changes)} points."
        if changes
        else ""
    )
    notes = [f"{r['model']}: {r['note']}" for r in runs if r.get("note")]
    arms = "; ".join(f"`{arm}`: {text}" for arm, text in ARMS.items())
    body = (
        "MNIST test error (%) on the official 10,000 test images, each "
        "network predicting with the fit's 8 fixed warps. Each model file is a "
        "default fit of the Lee table with one student (`--save`; its run is a "
        "line of that section). Per seed, students with the same initial "
        "weights, batches and augmentation that differ only in what they "
        f"learn for the unlabeled rows ({arms}; the labeled rows: their "
        "label). 'Soft top mass': the mean probability the soft targets give "
        "their most probable class on the unlabeled rows. Every run, with its "
        "command and commit, is a line of "
        "`benchmarks/results/student_targets_screen.jsonl`.\n\n"
        + table(header, rows)
        + "\n\n"
        + summary
        + "\n\n"
        + commands_block(runs)
        + "".join(f"\n\n{note}" for note in notes)
    )
    write_section("student-targets-screen", "Hard or soft labels for the student", body)


if __name__ == "__main__":
    main()
