"""Demo: Pseudo-Label vs supervised-only CNN vs LabelSpreading on sklearn digits.

Run ``python -m sklearn_pseudolabel``. For each label draw, splits the 1,797
digits into training and test images (70 / 30, stratified), keeps 10 labels
per class of the training images (the rest become -1), fits the three models
on the same data and prints their test accuracy and fit time, then the mean
over the draws. Offline, on the CPU.
"""

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.semi_supervised import LabelSpreading

from . import PseudoLabelCNNClassifier, hide_labels


def _models(seed):
    # The library's defaults; the supervised row is the same network and
    # training without the pseudo-label term.
    return {
        "PseudoLabelCNNClassifier()": PseudoLabelCNNClassifier(random_state=seed),
        "Supervised CNN (alpha_f=0)": PseudoLabelCNNClassifier(
            alpha_f=0.0, random_state=seed
        ),
        "LabelSpreading (knn)": LabelSpreading(kernel="knn", n_neighbors=7),
    }


def main(argv=None):
    """Run the demo and print the comparison table."""
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_pseudolabel", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--labels-per-class", type=int, default=10)
    parser.add_argument("--draws", type=int, default=3, help="label draws (seeds)")
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    args = parser.parse_args(argv)
    if args.draws < 1:
        parser.error("--draws must be at least 1")

    X, y = load_digits(return_X_y=True)
    X = X / 16.0  # digits are 0..16; the CNN expects [0, 1]
    print(
        f"sklearn digits (8x8), {10 * args.labels_per_class} labeled training "
        f"images, the other training images unlabeled, {args.draws} draw(s); "
        f"torch threads: {torch.get_num_threads()}\n"
    )
    print(f"{'model':<28} {'draw':>4} {'test accuracy':>13} {'fit time (s)':>13}")
    print("-" * 61)
    scores, times = {}, {}
    for seed in range(args.seed, args.seed + args.draws):
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.3, stratify=y, random_state=seed
        )
        y_partial = hide_labels(y_train, 10 * args.labels_per_class, random_state=seed)
        for name, model in _models(seed).items():
            start = time.perf_counter()
            model.fit(X_train, y_partial)
            times.setdefault(name, []).append(time.perf_counter() - start)
            scores.setdefault(name, []).append(model.score(X_test, y_test))
            print(
                f"{name:<28} {seed:>4} {scores[name][-1]:>13.4f} "
                f"{times[name][-1]:>13.1f}"
            )
    print("-" * 61)
    for name in scores:
        print(
            f"{name:<28} {'mean':>4} {np.mean(scores[name]):>13.4f} "
            f"{np.mean(times[name]):>13.1f}"
        )
    ours = np.mean(scores["PseudoLabelCNNClassifier()"])
    others = {
        k: np.mean(v) for k, v in scores.items() if k != "PseudoLabelCNNClassifier()"
    }
    best_other = max(others, key=others.get)
    verdict = "beats" if ours > others[best_other] else "does NOT beat"
    print(
        f"\nPseudo-Label {verdict} the best other model ({best_other}, "
        f"{others[best_other]:.4f}) on the mean over {args.draws} draw(s)."
    )


if __name__ == "__main__":
    main()
