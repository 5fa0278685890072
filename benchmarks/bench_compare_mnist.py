"""Cross-validated comparison on full MNIST with few labels.

All 60,000 MNIST training images, ``--n-labeled`` of them labeled (balanced,
seed 0), the rest -1; SemiSupervisedStratifiedKFold (3 folds, shuffled, seed
0) so that every method trains on all unlabeled images and is scored on the
same labeled validation rows. LabelSpreading with the rbf kernel needs a dense
60,000² matrix (~29 GB) and is left out. Result: a section of
docs/benchmarks.md per label count.

    .venv/bin/python benchmarks/bench_compare_mnist.py --n-labeled 1000
    .venv/bin/python benchmarks/bench_compare_mnist.py --n-labeled 100
"""

import argparse
import time

import numpy as np
from _report import REFERENCE, mnist_home, table, write_section
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_validate
from sklearn.semi_supervised import (
    LabelPropagation,
    LabelSpreading,
    SelfTrainingClassifier,
)

from sklearn_pseudolabel import PseudoLabelCNNClassifier, fetch_mnist, hide_labels
from sklearn_pseudolabel.model_selection import SemiSupervisedStratifiedKFold


def models(epochs):
    # CPU budget: a smaller CNN than the reference, 256 unlabeled images per
    # step (Lee's batch), a short ramp. See docs/benchmarks.md.
    cnn = dict(
        REFERENCE,
        channels=(16, 32, 64),
        batch_size_unlabeled=256,
        max_epochs=epochs,
        T1=epochs // 5,
        T2=epochs * 3 // 5,
        lr=0.05,
        random_state=0,
    )
    return {
        "CNN, supervised only (alpha_f=0)": PseudoLabelCNNClassifier(
            alpha_f=0.0, **cnn
        ),
        "PseudoLabelCNNClassifier (alpha_f=1, threshold=0.95)": (
            PseudoLabelCNNClassifier(alpha_f=1.0, threshold=0.95, **cnn)
        ),
        "LabelSpreading (knn, k=7)": LabelSpreading(
            kernel="knn", n_neighbors=7, n_jobs=1
        ),
        "LabelPropagation (knn, k=7)": LabelPropagation(
            kernel="knn", n_neighbors=7, n_jobs=1
        ),
        "SelfTraining(LogisticRegression)": SelfTrainingClassifier(
            LogisticRegression(max_iter=100), max_iter=3
        ),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-labeled", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--folds", type=int, default=3)
    args = parser.parse_args()

    X, y = fetch_mnist(data_home=mnist_home(), return_X_y=True)
    X = (X / 255.0).astype(np.float32)
    y_partial = hide_labels(y, args.n_labeled, random_state=0)
    cv = SemiSupervisedStratifiedKFold(args.folds, shuffle=True, random_state=0)
    rows = []
    for name, model in models(args.epochs).items():
        start = time.perf_counter()
        res = cross_validate(model, X, y_partial, cv=cv)
        acc, fit = res["test_score"], res["fit_time"]
        rows.append(
            [
                name,
                f"{acc.mean():.4f} ± {acc.std():.4f}",
                f"{fit.mean():.1f} ± {fit.std():.1f}",
            ]
        )
        print(rows[-1], f"({time.perf_counter() - start:.0f} s)", flush=True)
    body = table(["method", "accuracy (mean ± std)", "fit time, s (mean ± std)"], rows)
    body += (
        f"\n\n60,000 MNIST training images, {args.n_labeled} labeled "
        f"({args.n_labeled // 10} per class); {args.folds}-fold "
        "SemiSupervisedStratifiedKFold: each fold trains on the unlabeled images and "
        f"2/3 of the labels, and is scored on the other labels. CNNs: channels "
        f"(16, 32, 64), {args.epochs} epochs of 256 unlabeled + 128 labeled images "
        "per step, α ramp from epoch "
        f"{args.epochs // 5} to {args.epochs * 3 // 5}, lr 0.05."
    )
    write_section(
        f"compare-mnist-{args.n_labeled}",
        f"Cross-validated comparison, MNIST with {args.n_labeled} labels",
        body,
    )


if __name__ == "__main__":
    main()
