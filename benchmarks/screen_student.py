"""A student on a fitted model's labels: does a fresh network beat its teacher.

A screen for the accuracy work (issue 11), on classifiers fitted on MNIST
with few labels (``--save DIR`` of ``bench_lee_table.py`` or
``bench_ablation.py``). For each model file: train a fresh
``PseudoLabelCNNClassifier(alpha_f=0, max_epochs=--epochs)`` (the default
network, step and labeled augmentation, no pseudo-labels) on all 60,000
training images, the unlabeled ones under the model's labels (its
predictions, as in ``transduction_``: with the warps when the model was
fitted with them; the labeled ones keep theirs), and compare its test error
with the model's. ``--min-confidence p`` keeps only the unlabeled images that
the model gives a probability of at least ``p``; ``--augmenter strong`` gives
the student the strong ``RandomDistortion()`` instead of the default labeled
view (``"auto"``); ``--batch-size`` and ``--lr`` set the student's (64 and
0.05 by default, the classifier's); ``--test-time-augmentation`` scores the
student with the mean over the image and its 8 fixed warps (its error on the
clean images is recorded beside). This is what ``student_epochs`` does
inside ``fit`` (a round of Noisy Student), run on a saved model so that the
teacher need not be trained again; ``--save DIR`` keeps each student, to
screen it as the teacher of a next round. Every run is a line of
``benchmarks/results/student_screen.jsonl``; the section of
docs/benchmarks.md is rebuilt from that file.

    .venv/bin/python benchmarks/screen_student.py --models M --seeds 0
    .venv/bin/python benchmarks/screen_student.py --report-only
"""

import sys
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
from _report import (
    ROOT,
    clean_test_error,
    commands_block,
    error_percent,
    log_run,
    mnist_home,
    parse_saved_models,
    read_log,
    saved_models_parser,
    table,
    write_section,
)

from sklearn_pseudolabel import (
    PseudoLabelCNNClassifier,
    RandomDistortion,
    fetch_mnist,
    hide_labels,
)

#: The student's augmentation (``--augmenter``).
AUGMENTERS = {"auto": "auto", "strong": RandomDistortion()}

LOG = ROOT / "benchmarks" / "results" / "student_screen.jsonl"


def main():
    if sys.argv[1:] == ["--report-only"]:
        report()
        return
    parser = saved_models_parser()
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--min-confidence", type=float, default=0.0)
    parser.add_argument("--augmenter", choices=AUGMENTERS, default="auto")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--test-time-augmentation", action="store_true")
    parser.add_argument(
        "--save", metavar="DIR", help="save each student (a teacher for the next round)"
    )
    args = parse_saved_models(parser)
    X, y = fetch_mnist(data_home=mnist_home(), return_X_y=True)
    X_test, y_test = fetch_mnist(subset="test", data_home=mnist_home(), return_X_y=True)
    for path, seed in zip(args.models, args.seeds):
        teacher = joblib.load(path)
        y_partial = hide_labels(y, args.n_labeled, random_state=seed)
        unlabeled = y_partial == -1
        # The model's predictions, not its transduction_: a student saved
        # with --save had no unlabeled rows (its transduction_ is the labels
        # it was given). For a model fitted with -1 rows they are the same.
        labels = y_partial.copy()
        labels[unlabeled] = teacher.predict(X[unlabeled])
        keep = np.ones(len(y), dtype=bool)
        if args.min_confidence:
            keep = ~unlabeled | (
                teacher.predict_proba(X).max(axis=1) >= args.min_confidence
            )
        student = PseudoLabelCNNClassifier(
            alpha_f=0.0,
            max_epochs=args.epochs,
            augmenter=AUGMENTERS[args.augmenter],
            batch_size=args.batch_size,
            lr=args.lr,
            # Without the flag: scored on the clean test images, as the
            # screens before the option were.
            test_time_augmentation=args.test_time_augmentation,
            random_state=seed + 1000,
        )
        start = time.perf_counter()
        with warnings.catch_warnings():
            # "no unlabeled samples": every row has a label here.
            warnings.simplefilter("ignore", UserWarning)
            student.fit(X[keep], labels[keep])
        minutes = (time.perf_counter() - start) / 60
        if args.save:
            Path(args.save).mkdir(parents=True, exist_ok=True)
            joblib.dump(student, Path(args.save) / f"student-of-{Path(path).name}")
        extra = {}
        if args.test_time_augmentation:
            extra["student_test_error_without_views"] = clean_test_error(
                student, student._predicting_net, X_test, y_test
            )
        run = log_run(
            LOG,
            dict(
                model=Path(path).name,
                n_labeled=args.n_labeled,
                seed=seed,
                epochs=args.epochs,
                min_confidence=args.min_confidence,
                augmenter=args.augmenter,
                batch_size=args.batch_size,
                lr=args.lr,
                kept_unlabeled=int((keep & unlabeled).sum()),
                kept_label_error=error_percent(
                    labels[keep & unlabeled], y[keep & unlabeled]
                ),
                teacher_test_error=error_percent(teacher.predict(X_test), y_test),
                teacher_unlabeled_error=error_percent(labels[unlabeled], y[unlabeled]),
                student_test_error=error_percent(student.predict(X_test), y_test),
                fit_minutes=round(minutes, 2),
                precision=student.net_.precision,
                teacher_test_time_augmentation=bool(
                    getattr(teacher, "test_time_augmentation_", False)
                ),
                test_time_augmentation=args.test_time_augmentation,
                **extra,
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
            f"{r['teacher_test_error']:.2f}"
            + (" (warps)" if r.get("teacher_test_time_augmentation") else ""),
            f"{r['teacher_unlabeled_error']:.2f}",
            r["min_confidence"] or "–",
            r.get("augmenter", "auto"),
            f"{r.get('batch_size', 64)}, {r.get('lr', 0.05)}",
            f"{r['kept_unlabeled']:,} ({r['kept_label_error']:.2f} %)",
            r["epochs"],
            f"**{r['student_test_error']:.2f}**"
            + (
                f" ({r['student_test_error_without_views']:.2f} without)"
                if "student_test_error_without_views" in r
                else ""
            ),
            f"{r['student_test_error'] - r['teacher_test_error']:+.2f}",
            f"{r['fit_minutes']:.1f}" + ("*" if r.get("fit_minutes_note") else ""),
        ]
        for r in runs
    ]
    header = [
        "model file",
        "labels",
        "draw",
        "model: test error (%)",
        "model: unlabeled-row error (%)",
        "min. confidence",
        "student augmenter",
        "student batch, lr",
        "unlabeled rows kept (their label error)",
        "student epochs",
        "student: test error (%)",
        "change",
        "student fit (min)",
    ]
    notes = [f"{r['model']}: {r['note']}" for r in runs if r.get("note")] + [
        f"Runs whose line is marked `backfilled` ({n} of {len(runs)}): {note}"
        for note in sorted({r["backfilled"] for r in runs if r.get("backfilled")})
        for n in [sum(r.get("backfilled") == note for r in runs)]
    ]
    notes += sorted(
        {f"\\* {r['fit_minutes_note']}" for r in runs if r.get("fit_minutes_note")}
    )
    body = (
        "MNIST, the official 10,000 test images. For each fitted model (a "
        "`--save` file of the accuracy benchmarks, whose runs are in those "
        "sections), a fresh network with the default architecture, step and "
        "labeled augmentation, and no pseudo-labels (`alpha_f=0`), trained on "
        "the 60,000 training images under the model's labels (the labeled rows "
        "keep theirs), or on the unlabeled rows the model gives at least the "
        "minimum confidence. Rows marked `(warps)` score the model, and take its "
        "labels, with test-time augmentation (the mean over the image and 8 fixed "
        "warps); a student's error then reads `with (without) the warps`. "
        "What `student_epochs` does inside `fit`, screened "
        "on saved models. Every run, with its command and commit, is a line of "
        "`benchmarks/results/student_screen.jsonl`.\n\n"
        + table(header, rows)
        + "\n\n"
        + commands_block(runs)
        + "".join(f"\n\n{note}" for note in notes)
    )
    write_section("student-screen", "A student on a fitted model's labels", body)


if __name__ == "__main__":
    main()
