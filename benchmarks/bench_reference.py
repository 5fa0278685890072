"""The reference experiment: MNIST, 3,000 labels, augmentation and pseudo-labels.

Data as in the reference report: the first 50,000 official training images,
3,000 of them labeled (balanced, seed 0) and 47,000 unlabeled; the last 10,000
training images as validation set (accuracy after every epoch, through
``HeldOutAccuracy``); the official 10,000 test images for the final error.
Runs: plain dropout CNN; static augmentation (``AugmentationSampler``: 10
copies per method, 3,000 -> 93,000 labeled); on-the-fly augmentation (the
``augmenter`` parameter); Pseudo-Label; Pseudo-Label + on-the-fly augmentation.
Hyperparameters are the reference's (kernels 5/3/2, ReLU, dropout 0.5, SGD
lr 0.01 ×0.998 per epoch, labeled batch 128, alpha_f = 3, no threshold,
pseudo-labels refreshed at the start of each epoch), scaled to a CPU budget of
2 cores in three documented ways: ``--epochs`` epochs instead of 600 with
T1 = epochs / 6 and T2 = 2 · epochs / 3 (the reference: 100 and 600, i.e. the
ramp keeps its shape relative to the run); ``--channels`` filters (the
library default is 32/64/128); ``--batch-size-unlabeled`` unlabeled images per
step (the reference: 64), which makes an epoch (one pass over the 47,000
unlabeled images) 4× fewer steps. Writes two figures to docs/_static/ and a
section of docs/benchmarks.md.

    .venv/bin/python benchmarks/bench_reference.py --epochs 15
"""

import argparse
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from _report import REFERENCE, ROOT, mnist_home, table, write_section  # noqa: E402

from sklearn_pseudolabel import (  # noqa: E402
    AugmentationSampler,
    ImageAugmenter,
    PseudoLabelCNNClassifier,
    fetch_mnist,
    hide_labels,
)
from sklearn_pseudolabel.callbacks import HeldOutAccuracy  # noqa: E402

RUNS = {
    "plain": dict(alpha_f=0.0),
    "augmentation, static 30x": dict(alpha_f=0.0, static=True),
    "augmentation, on the fly": dict(alpha_f=0.0, augmenter=ImageAugmenter()),
    "pseudo-label": dict(alpha_f=3.0),
    "pseudo-label + augmentation on the fly": dict(
        alpha_f=3.0, augmenter=ImageAugmenter()
    ),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--runs", nargs="*", default=list(RUNS))
    parser.add_argument("--channels", type=int, nargs=3, default=(16, 32, 64))
    parser.add_argument("--batch-size-unlabeled", type=int, default=256)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    X, y = fetch_mnist(data_home=mnist_home(), return_X_y=True)
    X_test, y_test = fetch_mnist(subset="test", data_home=mnist_home(), return_X_y=True)
    X_train, y_train = X[:50_000], hide_labels(y[:50_000], 3000, random_state=0)
    X_val, y_val = X[50_000:], y[50_000:]
    schedule = dict(
        max_epochs=args.epochs, T1=args.epochs // 6, T2=2 * args.epochs // 3
    )
    scale = dict(
        channels=tuple(args.channels), batch_size_unlabeled=args.batch_size_unlabeled
    )

    curves, rows = {}, []
    for name in args.runs:
        params = dict(RUNS[name])
        X_fit, y_fit = X_train, y_train
        if params.pop("static", False):
            X_fit, y_fit = AugmentationSampler(random_state=0).fit_resample(
                X_fit, y_fit
            )
        clf = PseudoLabelCNNClassifier(
            **{**REFERENCE, **schedule, **scale, **params},
            device=args.device,
            random_state=0,
            verbose=1,
            callbacks=[HeldOutAccuracy(X_val, y_val)],
        )
        start = time.perf_counter()
        clf.fit(X_fit, y_fit)
        minutes = (time.perf_counter() - start) / 60
        curves[name] = clf.history_[:, "valid_acc"]
        error = 100 * (1 - clf.score(X_test, y_test))
        rows.append(
            [
                name,
                f"{len(y_fit):,}",
                f"{100 * curves[name][-1]:.2f}",
                f"{error:.2f}",
                f"{minutes:.1f}",
            ]
        )
        print(rows[-1], flush=True)

    figures = []
    for filename, title, names in [
        (
            "reference_augmentation.png",
            "With vs without augmentation",
            ["plain", "augmentation, static 30x", "augmentation, on the fly"],
        ),
        (
            "reference_pseudolabel.png",
            "With vs without pseudo-labels",
            [
                "plain",
                "pseudo-label",
                "augmentation, on the fly",
                "pseudo-label + augmentation on the fly",
            ],
        ),
    ]:
        names = [n for n in names if n in curves]
        if not names:
            continue
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for n in names:
            ax.plot(range(1, len(curves[n]) + 1), curves[n], label=n)
        ax.axvspan(schedule["T1"], schedule["T2"], color="0.9", label="α ramp")
        ax.set_xlabel("epoch")
        ax.set_ylabel("validation accuracy")
        ax.set_title(f"{title} (MNIST, 3,000 labels)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        (ROOT / "docs" / "_static").mkdir(exist_ok=True)
        fig.savefig(ROOT / "docs" / "_static" / filename, dpi=100)
        figures.append(f"![{title}](_static/{filename})")

    body = table(
        [
            "run",
            "training rows (labeled + unlabeled)",
            "final validation accuracy (%)",
            "test error (%)",
            "fit time (min)",
        ],
        rows,
    )
    body += (
        f"\n\n{args.epochs} epochs (T1={schedule['T1']}, T2={schedule['T2']}), "
        f"channels {scale['channels']}, unlabeled batch "
        f"{scale['batch_size_unlabeled']}; everything else as in the reference "
        "(see the script's docstring); validation = training images "
        "50,000–59,999, test = the official test set.\n\n" + "\n\n".join(figures)
    )
    write_section(
        "reference", "The reference experiment (MNIST, 3,000 labels)", body, args.device
    )


if __name__ == "__main__":
    main()
