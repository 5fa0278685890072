"""Means of networks on saved fits: does averaging beat the one student.

A screen for the accuracy work (issue 11), on default fits of MNIST with one
student (``--save DIR`` of ``bench_lee_table.py``, 500 labels or more, where
``student_rounds="auto"`` trains one). For each model file it scores on the
official 10,000 test images, each network with the fit's test-time
augmentation (the mean over the image and its 8 fixed warps):

- the student, which the fit predicts with;
- the Pseudo-Label network (``net_``), which taught it;
- the mean of the two networks' probabilities;

and with ``--extra-students K``, K more students trained exactly as ``fit``
trains its own (the classifier's ``_build_student``: a fresh network, the
fit's labeled augmentation and ``student_epochs``, on the Pseudo-Label
network's labels with the warps), each with a new seed; then the mean of
all the students, and of the students and the Pseudo-Label network. What a
parallel ensemble of students would do inside ``fit``, before it is built.
Every run is a line of ``benchmarks/results/ensemble_screen.jsonl``; the
section of docs/benchmarks.md is rebuilt from that file.

    .venv/bin/python benchmarks/screen_ensemble.py --models M --seeds 0 --n-labeled N
    .venv/bin/python benchmarks/screen_ensemble.py --report-only
"""

import sys
import time
from pathlib import Path

import torch
from _report import (
    ROOT,
    commands_block,
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

from sklearn_pseudolabel import fetch_mnist
from sklearn_pseudolabel._classifier import _predict_proba

LOG = ROOT / "benchmarks" / "results" / "ensemble_screen.jsonl"

#: Seeds of the extra students: draw * 10 + k + this, unlike any fit's own.
SEED_OFFSET = 2000


def main():
    if sys.argv[1:] == ["--report-only"]:
        report()
        return
    parser = saved_models_parser()
    parser.add_argument("--extra-students", type=int, default=0)
    args = parse_saved_models(parser)
    X, y = fetch_mnist(data_home=mnist_home(), return_X_y=True)
    X_test, y_test = fetch_mnist(subset="test", data_home=mnist_home(), return_X_y=True)
    for path, seed in zip(args.models, args.seeds):
        clf, X_train, y_train = load_one_student_fit(path, X, y, args.n_labeled, seed)
        views, classes = clf._test_time_views, clf.classes_
        X_eval = clf._image_tensor(X_test)
        teacher = _predict_proba(clf.net_, views, X_eval)
        students = [_predict_proba(clf.student_net_, views, X_eval)]
        epochs = len(clf.student_net_.history)
        minutes = []
        for k in range(args.extra_students):
            student_seed = SEED_OFFSET + 10 * seed + k
            torch.manual_seed(student_seed)
            start = time.perf_counter()
            student = clf._build_student(
                clf.net_,
                views,
                X_train,
                y_train,
                clf.image_shape_,
                classes,
                student_seed,
                None,
                epochs,
            )
            minutes.append(round((time.perf_counter() - start) / 60, 2))
            students.append(_predict_proba(student, views, X_eval))
        mean_students = torch.stack(students).mean(0)
        run = log_run(
            LOG,
            dict(
                model=Path(path).name,
                n_labeled=args.n_labeled,
                seed=seed,
                student_epochs=epochs,
                precision=clf.net_.precision,
                student_error=proba_error(students[0], classes, y_test),
                teacher_error=proba_error(teacher, classes, y_test),
                student_teacher_error=proba_error(
                    (students[0] + teacher) / 2, classes, y_test
                ),
                extra_student_errors=[
                    proba_error(p, classes, y_test) for p in students[1:]
                ],
                extra_student_minutes=minutes,
                students_error=proba_error(mean_students, classes, y_test),
                students_teacher_error=proba_error(
                    torch.stack([*students, teacher]).mean(0), classes, y_test
                ),
            ),
        )
        print(run, flush=True)
    report()


def report():
    runs = read_log(LOG)
    rows = [
        [
            r["model"],
            r["n_labeled"],
            r["seed"],
            f"{r['teacher_error']:.2f}",
            f"**{r['student_error']:.2f}**",
            f"{r['student_teacher_error']:.2f}",
            ", ".join(f"{e:.2f}" for e in r["extra_student_errors"]) or "–",
            f"{r['students_error']:.2f}" if r["extra_student_errors"] else "–",
            f"{r['students_teacher_error']:.2f}" if r["extra_student_errors"] else "–",
            ", ".join(f"{m:.1f}" for m in r["extra_student_minutes"]) or "–",
        ]
        for r in runs
    ]
    header = [
        "model file",
        "labels",
        "draw",
        "Pseudo-Label network",
        "student (the fit)",
        "mean of the two",
        "extra students",
        "mean of the students",
        "mean of the students and the Pseudo-Label network",
        "extra student fit (min)",
    ]
    summary = []
    for n in sorted({r["n_labeled"] for r in runs}):
        group = [r for r in runs if r["n_labeled"] == n]
        fits = "1 fit" if len(group) == 1 else f"{len(group)} fits"
        line = (
            f"- {n} labels, {fits}: the student "
            f"{mean_std([r['student_error'] for r in group])} %, the mean with "
            "the Pseudo-Label network "
            f"{mean_std([r['student_teacher_error'] for r in group])} %"
        )
        with_extra = [r for r in group if r["extra_student_errors"]]
        if with_extra:
            line += (
                f"; with extra students (on {len(with_extra)}): the mean of "
                f"the students {mean_std([r['students_error'] for r in with_extra])}"
                " %, against the fit's student "
                f"{mean_std([r['student_error'] for r in with_extra])} %"
            )
        summary.append(line + ".")
    notes = [f"{r['model']}: {r['note']}" for r in runs if r.get("note")]
    body = (
        "MNIST test error (%) on the official 10,000 test images. Each model "
        "file is a default fit of the Lee table with one student (`--save`; "
        "its run is a line of that section), each network predicting with the "
        "fit's 8 fixed warps. 'Mean' columns average the networks' "
        "probabilities. Extra students are trained as `fit` trains its own, "
        "on the Pseudo-Label network's labels, with new seeds. Every run, with "
        "its command and commit, is a line of "
        "`benchmarks/results/ensemble_screen.jsonl`.\n\n"
        + table(header, rows)
        + "\n\n"
        + "\n".join(summary)
        + "\n\n"
        + commands_block(runs)
        + "".join(f"\n\n{note}" for note in notes)
    )
    write_section("ensemble-screen", "Means of networks on saved fits", body)


if __name__ == "__main__":
    main()
