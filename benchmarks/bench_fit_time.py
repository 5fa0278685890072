"""Seconds per epoch of one configuration, for comparing two versions of the code.

Fits the Lee table's best configuration (``bench_lee_table.py``, third row:
16/32/64 CNN, 128 labeled + 256 unlabeled images per step, augmentation of
both, weight average, threshold) on all 60,000 MNIST images with 100 labels
for ``--epochs`` epochs and prints the median seconds per epoch with
pseudo-labels on (epochs after the first). Runs with whatever
``sklearn_pseudolabel`` is importable, so that an older checkout can be timed
with the same script, alternating with the current one::

    for r in 1 2 3; do
        PYTHONPATH=/path/to/old/checkout .venv/bin/python benchmarks/bench_fit_time.py
        .venv/bin/python benchmarks/bench_fit_time.py
    done

Before the parts refactor, the unlabeled images' augmentation was the flag
``augment_unlabeled=True``; the script passes whichever the code has.
"""

import argparse
import inspect
import statistics

from _report import REFERENCE, mnist_home

import sklearn_pseudolabel
from sklearn_pseudolabel import (
    ImageAugmenter,
    PseudoLabelCNNClassifier,
    fetch_mnist,
    hide_labels,
)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    X, y = fetch_mnist(data_home=mnist_home(), return_X_y=True)
    y = hide_labels(y, 100, random_state=0)
    params = dict(
        channels=(16, 32, 64),
        batch_size_unlabeled=256,
        max_epochs=args.epochs,
        lr=0.05,
        lr_decay=0.9,
        nesterov=True,
        alpha_f=1.0,
        T1=1,
        T2=1,
        refresh="batch",
        threshold=0.95,
        ema_decay=0.99,
        augmenter=ImageAugmenter(),
        random_state=0,
    )
    accepted = inspect.signature(PseudoLabelCNNClassifier).parameters
    if "augmenter_unlabeled" in accepted:
        params["augmenter_unlabeled"] = ImageAugmenter()
        # The reference settings that the old defaults had.
        params = {**{k: v for k, v in REFERENCE.items() if k not in params}, **params}
    else:
        params["augment_unlabeled"] = True
    clf = PseudoLabelCNNClassifier(**params).fit(X, y)
    durations = clf.history_[1:, "dur"]
    print(
        f"{sklearn_pseudolabel.__file__}: median {statistics.median(durations):.2f} "
        f"s per epoch with pseudo-labels, epochs {[round(d, 2) for d in durations]}",
        flush=True,
    )


if __name__ == "__main__":
    main()
