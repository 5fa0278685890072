"""Test-time augmentation on saved models: does averaging the warps pay.

A screen for the accuracy work (issue 11), on classifiers fitted on MNIST
with few labels (``--save DIR`` of ``bench_lee_table.py`` or
``bench_ablation.py``). For each model file, the test error of the network
that predicts (the student's, if the fit trained one) and of the
Pseudo-Label network (``net_``), each on the clean test images alone and
averaged with the 8 fixed warps of ``test_time_augmentation`` (the
library's ``AffineViews``), and the seconds ``predict_proba`` takes on the
10,000 test images either way (median of 3). Training does not depend on
``test_time_augmentation``, so the errors are those of the same fit with the
option off and on. Every run is a line of
``benchmarks/results/test_time_screen.jsonl``; the section of
docs/benchmarks.md is rebuilt from that file.

    .venv/bin/python benchmarks/screen_test_time.py --models M --seeds 0
    .venv/bin/python benchmarks/screen_test_time.py --report-only
"""

import sys
import time
from pathlib import Path
from statistics import median

import joblib
from _report import (
    ROOT,
    commands_block,
    error_percent,
    log_run,
    mean_std,
    mnist_home,
    parse_saved_models,
    read_log,
    saved_models_parser,
    table,
    write_section,
)

from sklearn_pseudolabel import fetch_mnist
from sklearn_pseudolabel._classifier import _warpable_range
from sklearn_pseudolabel._test_time import AffineViews

LOG = ROOT / "benchmarks" / "results" / "test_time_screen.jsonl"


def main():
    if sys.argv[1:] == ["--report-only"]:
        report()
        return
    args = parse_saved_models(saved_models_parser())
    X, _ = fetch_mnist(data_home=mnist_home(), return_X_y=True)
    X_test, y_test = fetch_mnist(subset="test", data_home=mnist_home(), return_X_y=True)
    views = AffineViews(value_range=_warpable_range(X, (1, 28, 28)))
    for path, seed in zip(args.models, args.seeds):
        model = joblib.load(path)
        student = getattr(model, "student_net_", None)
        row = dict(model=Path(path).name, n_labeled=args.n_labeled, seed=seed)
        for name, net in (("student", student), ("pseudo_label", model.net_)):
            if net is None:
                continue
            model.student_net_ = net if name == "student" else None
            for on in (False, True):
                model._test_time_views = views if on else None
                seconds = []
                for _ in range(3):
                    start = time.perf_counter()
                    predicted = model.predict(X_test)
                    seconds.append(time.perf_counter() - start)
                key = f"{name}_{'views' if on else 'clean'}"
                row[f"{key}_test_error"] = error_percent(predicted, y_test)
                row[f"{key}_predict_seconds"] = round(median(seconds), 3)
        row["precision"] = model.net_.precision
        print(log_run(LOG, row), flush=True)
    report()


def report():
    runs = read_log(LOG)

    def cell(run, key):
        return f"{run[key]:.2f}" if key in run else "–"

    rows = [
        [
            r["model"],
            r["n_labeled"],
            r["seed"],
            r.get("source", "–"),
            cell(r, "student_clean_test_error"),
            cell(r, "student_views_test_error"),
            cell(r, "pseudo_label_clean_test_error"),
            cell(r, "pseudo_label_views_test_error"),
            f"{r['pseudo_label_clean_predict_seconds']:.1f}, "
            f"{r['pseudo_label_views_predict_seconds']:.1f}",
        ]
        for r in runs
    ]
    header = [
        "model file",
        "labels",
        "draw",
        "the fit (Lee table row)",
        "student: clean",
        "student: + 8 warps",
        "Pseudo-Label network: clean",
        "Pseudo-Label network: + 8 warps",
        "predict_proba, 10,000 images (s): clean, + 8 warps",
    ]
    summary = []
    for n in sorted({r["n_labeled"] for r in runs}):
        parts = []
        for name, network in (
            ("student", "students"),
            ("pseudo_label", "Pseudo-Label networks"),
        ):
            some = [
                r
                for r in runs
                if r["n_labeled"] == n and f"{name}_clean_test_error" in r
            ]
            if some:
                clean, views = (
                    mean_std([r[f"{name}_{way}_test_error"] for r in some])
                    for way in ("clean", "views")
                )
                parts.append(
                    f"the {network} of {len(some)} fits: {clean} % clean, "
                    f"{views} % with the warps"
                )
        summary.append(f"- {n} labels, " + "; ".join(parts) + ".")
    body = (
        "MNIST test error (%) on the official 10,000 test images, by the "
        "network that predicts (the student's) and by the Pseudo-Label network "
        "(`net_`), on the clean images alone and averaged with the 8 fixed "
        "warps of `test_time_augmentation` (rotations by ±8°, zooms by ±8 %, "
        "shifts by ±5 % of the side). Training does not depend on the option: "
        "each row is one fit, predicted both ways. The model files come from "
        "`--save` of the accuracy benchmarks (their runs are in those "
        "sections; the column 'the fit' names the Lee table row of each, "
        "added to the log by hand). Every run, with its command and commit, "
        "is a line of `benchmarks/results/test_time_screen.jsonl`.\n\n"
        + table(header, rows)
        + ("\n\n" + "\n".join(summary) if summary else "")
        + "\n\n"
        + commands_block(runs)
    )
    write_section("test-time-screen", "Test-time augmentation on saved models", body)


if __name__ == "__main__":
    main()
