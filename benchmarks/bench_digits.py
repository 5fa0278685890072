"""The demo on sklearn digits: the defaults against other semi-supervised models.

For each label draw (seed), the 1,797 digits are split 70 / 30 (stratified),
10 labels per class of the training images are kept (the rest -1), and each
model is fitted and scored on the test images, as ``python -m
sklearn_pseudolabel`` does: the defaults, the same network without
pseudo-labels, scikit-learn's LabelSpreading and SelfTrainingClassifier.

    .venv/bin/python benchmarks/bench_digits.py --draws 5
"""

import argparse
import time

import numpy as np
from _report import table, write_section
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier

from sklearn_pseudolabel import PseudoLabelCNNClassifier, hide_labels

MODELS = {
    "PseudoLabelCNNClassifier() (defaults)": lambda seed: PseudoLabelCNNClassifier(
        random_state=seed
    ),
    "the same network, supervised (alpha_f=0)": lambda seed: PseudoLabelCNNClassifier(
        alpha_f=0.0, random_state=seed
    ),
    "LabelSpreading (knn, k=7)": lambda seed: LabelSpreading(
        kernel="knn", n_neighbors=7
    ),
    "SelfTrainingClassifier(LogisticRegression)": lambda seed: SelfTrainingClassifier(
        LogisticRegression(max_iter=1000)
    ),
}


def compare(draws, split):
    """Fit every model of ``MODELS`` on each draw; return the results table.

    ``split(seed)`` returns the draw's ``(X_train, y_partial, X_test,
    y_test)``, with -1 for the unlabeled training rows; ``seed`` is also
    each model's ``random_state``.
    """
    scores = {name: [] for name in MODELS}
    times = {name: [] for name in MODELS}
    for seed in draws:
        X_train, y_partial, X_test, y_test = split(seed)
        for name, make in MODELS.items():
            model = make(seed)
            start = time.perf_counter()
            model.fit(X_train, y_partial)
            times[name].append(time.perf_counter() - start)
            scores[name].append(model.score(X_test, y_test))
            print(f"draw {seed}, {name}: {scores[name][-1]:.4f}", flush=True)
    rows = [
        [
            name,
            f"{np.mean(scores[name]):.4f} ± {np.std(scores[name], ddof=1):.4f}",
            ", ".join(f"{s:.4f}" for s in scores[name]),
            f"{np.mean(times[name]):.1f}",
        ]
        for name in MODELS
    ]
    return table(["model", "accuracy", "per draw", "fit (s)"], rows)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=5)
    args = parser.parse_args()
    X, y = load_digits(return_X_y=True)
    X = X / 16.0

    def split(seed):
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.3, stratify=y, random_state=seed
        )
        return X_train, hide_labels(y_train, 100, random_state=seed), X_test, y_test

    body = (
        "Test accuracy on sklearn digits (30 % of the 1,797 images, stratified), "
        "10 labels per class of the other 70 %, the rest unlabeled; mean ± "
        f"sample std over {args.draws} draws (seeds 0..{args.draws - 1}):\n\n"
        + compare(range(args.draws), split)
    )
    write_section("demo", "The demo on sklearn digits", body)


if __name__ == "__main__":
    main()
