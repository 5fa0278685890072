"""The demo's protocol on sklearn digits, for several configurations.

For each label draw (seed), the 1,797 digits are split 70 / 30 (stratified),
10 labels per class of the training images are kept (the rest -1), and each
configuration is fitted and scored on the test images: exactly what
``python -m sklearn_pseudolabel`` does for its three models. Used to check
that the defaults chosen on MNIST also hold on a small data set (1,257
training images, 3 steps per epoch).

    .venv/bin/python benchmarks/bench_digits.py --draws 3
    .venv/bin/python benchmarks/bench_digits.py --draws 3 --section NAME \
        --configs NAME ...
"""

import argparse
import time

import numpy as np
from _report import table, write_section
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.semi_supervised import LabelSpreading

from sklearn_pseudolabel import PseudoLabelCNNClassifier, RandomDistortion, hide_labels
from sklearn_pseudolabel._distort import WEAK_DISTORTION

CONFIGS = {
    "PseudoLabelCNNClassifier() (defaults)": {},
    "mask='class_adaptive'": dict(mask="class_adaptive"),
    "augmenter_unlabeled = weak view": dict(
        augmenter_unlabeled=RandomDistortion(**WEAK_DISTORTION)
    ),
    "mask='class_adaptive' + augmenter_unlabeled = weak view": dict(
        mask="class_adaptive",
        augmenter_unlabeled=RandomDistortion(**WEAK_DISTORTION),
    ),
    # The defaults before augmenter="auto" drew strokes on half of the images.
    "augmenter = the weak view alone (no strokes)": dict(
        augmenter=RandomDistortion(**WEAK_DISTORTION)
    ),
    # The defaults before the student round joined them.
    "student_epochs=0 (no student round)": dict(student_epochs=0),
    # The defaults before precision="auto" (bfloat16 on CPUs with AMX units).
    "precision='float32'": dict(precision="float32"),
    # The defaults before test_time_augmentation="auto" averaged the
    # predictions over 8 fixed warps.
    "test_time_augmentation=False": dict(test_time_augmentation=False),
    "supervised (alpha_f=0)": dict(alpha_f=0.0),
    "LabelSpreading (knn, k=7)": None,
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS))
    parser.add_argument(
        "--section",
        default="digits",
        help="section of docs/benchmarks.md to write (another keeps 'digits')",
    )
    args = parser.parse_args()
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    scores = {name: [] for name in args.configs}
    times = {name: [] for name in args.configs}
    for seed in range(args.draws):
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.3, stratify=y, random_state=seed
        )
        y_partial = hide_labels(y_train, 100, random_state=seed)
        for name in args.configs:
            params = CONFIGS[name]
            model = (
                LabelSpreading(kernel="knn", n_neighbors=7)
                if params is None
                else PseudoLabelCNNClassifier(random_state=seed, **params)
            )
            start = time.perf_counter()
            model.fit(X_train, y_partial)
            times[name].append(time.perf_counter() - start)
            scores[name].append(model.score(X_test, y_test))
            print(f"draw {seed}, {name}: {scores[name][-1]:.4f}", flush=True)
    rows = [
        [
            name,
            f"{np.mean(scores[name]):.4f} ± {np.std(scores[name]):.4f}",
            ", ".join(f"{s:.4f}" for s in scores[name]),
            f"{np.mean(times[name]):.1f}",
        ]
        for name in args.configs
    ]
    body = (
        "Test accuracy on sklearn digits (30 % of the 1,797 images, stratified), "
        "10 labels per class of the other 70 %, the rest unlabeled; mean ± std "
        f"over {args.draws} draws (seeds 0..{args.draws - 1}), each configuration "
        "a change of the defaults:\n\n"
        + table(["configuration", "accuracy", "per draw", "fit (s)"], rows)
    )
    title = "The demo's protocol on sklearn digits"
    if args.section != "digits":
        title += f" ({args.section})"
    write_section(args.section, title, body)


if __name__ == "__main__":
    main()
