"""Lee's MNIST table: test error with 100, 600, 1,000 and 3,000 labels.

All 60,000 official training images, ``n`` of them labeled (balanced: n / 10
per digit, drawn by ``hide_labels`` with the draw's seed), the others -1; the
official 10,000 test images for the error. Four configurations of this
library, beside Lee's published rows (his network is an MLP 784-5000-10):

- supervised only: the dropout CNN on the labeled images (``alpha_f=0``);
- Pseudo-Label as Lee ran it: ``alpha_f=3``, pseudo-labels taken from the
  training pass at every update (``refresh="batch"``,
  ``teacher="training_pass"``), no threshold, α ramp over the run;
- Pseudo-Label + augmentation, the library's best options together: on-the-fly
  augmentation of labeled and unlabeled batches (``augmenter``,
  ``augmenter_unlabeled``), pseudo-labels predicted on the clean images by an
  exponential moving average of the weights (``ema_decay=0.99``) and kept only
  when at least 95 % confident (``threshold``), ``alpha_f=1`` reached early;
- ``PseudoLabelCNNClassifier()`` with its defaults (nothing set but the seed):
  the measured recipe, run length ``max_epochs="auto"``.

CPU budget of the first three (2 cores): the reference network and step of
``REFERENCE`` (``_report.py``) scaled down: the CNN has 16/32/64 filters, each
step takes 128
labeled (all of them when fewer) and 256 unlabeled images, an epoch is one
pass over the unlabeled images, ``--epochs`` epochs, SGD lr 0.05 with Nesterov
momentum 0.9, multiplied by ``--lr-decay`` after each epoch (0.9: a 20-epoch
run ends at 0.12 × the initial rate; Lee's 0.998 is meant for 600+ epochs).
The same settings for those three configurations. The table is rewritten
after every finished run.

    .venv/bin/python benchmarks/bench_lee_table.py --n-labeled 100 600 1000 3000

More label draws of some configurations go to a section of their own, e.g.
``--n-labeled 100 --seeds 1 2 --configs 0 2 --section lee-table-100-draws``.
"""

import argparse
import time

import numpy as np
from _report import REFERENCE, mnist_home, table, write_section

from sklearn_pseudolabel import (
    ImageAugmenter,
    PseudoLabelCNNClassifier,
    fetch_mnist,
    hide_labels,
)

#: Lee (2013), Table 1 (test error %, as reproduced in the literature).
LEE = {
    "Lee: dropNN": {100: 21.89, 600: 8.57, 1000: 6.59, 3000: 3.72},
    "Lee: dropNN + PL": {100: 16.15, 600: 5.03, 1000: 4.30, 3000: 2.80},
    "Lee: dropNN + PL + DAE": {100: 10.49, 600: 4.01, 1000: 3.46, 3000: 2.69},
}


def configurations(epochs, lr_decay):
    """Return the configurations, by their names in the table."""
    # The first three: the reference network and step at the CPU scale below.
    scale = dict(
        REFERENCE,
        channels=(16, 32, 64),
        batch_size_unlabeled=256,
        max_epochs=epochs,
        lr=0.05,
        lr_decay=lr_decay,
        nesterov=True,
    )
    configs = {
        "supervised only (alpha_f=0)": dict(alpha_f=0.0),
        "Pseudo-Label (alpha_f=3, per-batch refresh)": dict(
            alpha_f=3.0,
            refresh="batch",
            teacher="training_pass",
            T1=epochs // 5,
            T2=3 * epochs // 5,
        ),
        "Pseudo-Label + augmentation (threshold 0.95, EMA 0.99)": dict(
            alpha_f=1.0,
            T1=1,
            T2=max(epochs // 4, 1),
            refresh="batch",
            threshold=0.95,
            ema_decay=0.99,
            augmenter=ImageAugmenter(),
            augmenter_unlabeled=ImageAugmenter(),
        ),
    }
    configs = {name: {**scale, **params} for name, params in configs.items()}
    # The library's defaults, with nothing set (--epochs does not apply).
    configs["PseudoLabelCNNClassifier() defaults"] = {}
    return configs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--n-labeled", type=int, nargs="+", default=[100, 600, 1000, 3000]
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr-decay", type=float, default=0.9)
    parser.add_argument("--configs", type=int, nargs="*", help="indices to run")
    parser.add_argument("--section", default="lee-table")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    X, y = fetch_mnist(data_home=mnist_home(), return_X_y=True)
    X_test, y_test = fetch_mnist(subset="test", data_home=mnist_home(), return_X_y=True)
    configs = configurations(args.epochs, args.lr_decay)
    names = list(configs)
    if args.configs:
        names = [names[i] for i in args.configs]
    errors = {(name, n): [] for name in names for n in args.n_labeled}
    minutes = {key: [] for key in errors}
    for n in args.n_labeled:
        for seed in args.seeds:
            y_partial = hide_labels(y, n, random_state=seed)
            for name in names:
                clf = PseudoLabelCNNClassifier(
                    device=args.device, random_state=seed, **configs[name]
                )
                start = time.perf_counter()
                clf.fit(X, y_partial)
                minutes[name, n].append((time.perf_counter() - start) / 60)
                errors[name, n].append(100 * (1 - clf.score(X_test, y_test)))
                print(
                    f"{n} labels, seed {seed}, {name}: "
                    f"{errors[name, n][-1]:.2f} % in {minutes[name, n][-1]:.1f} min",
                    flush=True,
                )
                report(args, names, errors, minutes)


def _cell(values, digits=2):
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"


def report(args, names, errors, minutes):
    counts = args.n_labeled
    header = ["method"] + [f"{n} labels" for n in counts]
    rows = [[name] + [f"{row[n]:.2f}" for n in counts] for name, row in LEE.items()]
    rows += [
        [f"**this library**: {name}"] + [_cell(errors[name, n]) for n in counts]
        for name in names
    ]
    times = [[name] + [_cell(minutes[name, n], 1) for n in counts] for name in names]
    draws = ", ".join(str(s) for s in args.seeds)
    body = (
        "Test error (%) on the official 10,000 MNIST test images"
        + (" (mean ± std over the draws)" if len(args.seeds) > 1 else "")
        + ":\n\n"
        + table(header, rows)
        + "\n\nFit time (minutes):\n\n"
        + table(["method"] + header[1:], times)
        + f"\n\nLabel draws (seeds): {draws}; all 60,000 training images used, the "
        "unlabeled ones with y = -1. The reference-network rows: "
        f"{args.epochs} epochs of 256 unlabeled + 128 labeled images per step, CNN "
        "16/32/64 filters, SGD lr 0.05 with Nesterov momentum, "
        f"×{args.lr_decay} per epoch. The defaults row: nothing set but the seed "
        "(30 epochs of 448 unlabeled + 64 labeled images per step here, "
        "`max_epochs='auto'`). See the script's docstring for each configuration. "
        "Lee's rows: his published MLP results, not rerun here."
    )
    title = "Lee's table: MNIST test error with few labels"
    if args.section != "lee-table":
        title += f" (label draws {draws})"
    write_section(args.section, title, body, args.device)


if __name__ == "__main__":
    main()
