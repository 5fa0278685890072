"""A few thousand images: the demo's models on a small draw of MNIST.

For each draw (seed), ``N_IMAGES`` of MNIST's 60,000 training images are
drawn (stratified), 10 labels per class of them are kept (the rest -1), and
each model of the digits demo (``bench_digits.MODELS``) is fitted on them and
scored on the official 10,000 test images. At this size the defaults resolve
to no student (a student needs more unlabeled rows) and to more epochs than
on full MNIST (a floor on the optimizer steps): the plan of a small data set.

    .venv/bin/python benchmarks/bench_small.py
"""

import argparse

from _report import mnist_home, write_section
from bench_digits import compare
from sklearn.model_selection import train_test_split

from sklearn_pseudolabel import fetch_mnist, hide_labels

#: Training images of a draw, and labels kept among them.
N_IMAGES = 5_000
N_LABELED = 100

#: Seeds of the draws: none of them chose a setting.
DRAWS = (100, 101, 102, 103, 104)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, nargs="+", default=list(DRAWS))
    args = parser.parse_args()
    X, y = fetch_mnist(data_home=mnist_home(), return_X_y=True)
    X_test, y_test = fetch_mnist(subset="test", data_home=mnist_home(), return_X_y=True)
    X_test = X_test / 255.0

    def split(seed):
        X_train, _, y_train, _ = train_test_split(
            X, y, train_size=N_IMAGES, stratify=y, random_state=seed
        )
        y_partial = hide_labels(y_train, N_LABELED, random_state=seed)
        return X_train / 255.0, y_partial, X_test, y_test

    draws = ", ".join(map(str, args.draws))
    body = (
        f"Test accuracy on the official 10,000 MNIST test images, after a fit on "
        f"{N_IMAGES:,} of the 60,000 training images (a stratified draw), "
        f"{N_LABELED // 10} labels per class, the rest unlabeled; mean ± sample "
        f"std over {len(args.draws)} draws (seeds {draws}; the seed draws the "
        "images, the labels and each model's `random_state`):\n\n"
        + compare(args.draws, split)
    )
    write_section("small", "A few thousand images (MNIST)", body)


if __name__ == "__main__":
    main()
