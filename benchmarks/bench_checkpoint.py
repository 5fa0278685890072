"""What checkpoints cost: seconds per epoch of the defaults with and without.

Each measurement is a fresh process (``--worker``) that fits
``PseudoLabelCNNClassifier(max_epochs=E, student_epochs=0, random_state=0)``
on all 60,000 MNIST images with 100 labels, with or without
``checkpoint_dir``, and prints the median of its epochs' durations (skorch's
``dur``, which the checkpoint's save at the epoch's end falls outside of) and
the whole fit's seconds divided by its epochs (which holds the saves), and
the seconds between one epoch's end and the next one's start (which hold the
save, and which a process measures of itself, unlike the other two, which
compare processes and so carry the machine's drift between them). The two
variants alternate over ``--rounds`` rounds, so that the drift hits both
alike. Writes the block "checkpoint" of docs/benchmarks.md:

    .venv/bin/python benchmarks/bench_checkpoint.py --rounds 3 --epochs 3
"""

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from _report import mnist_home, run_worker, table, write_section

#: The largest cost of checkpointing, as a share of an epoch.
TARGET = 0.05


def worker(args):
    """Fit once; print seconds per epoch, per fit epoch and the file's size."""
    from skorch.callbacks import Callback

    from sklearn_pseudolabel import PseudoLabelCNNClassifier, fetch_mnist, hide_labels

    X, y = fetch_mnist(data_home=mnist_home(), return_X_y=True)
    y = hide_labels(y, 100, random_state=0)
    sizes, gaps = [], []

    class Between(Callback):
        """Time from an epoch's end to the next one's start; the file's size.

        A user's callback runs before the checkpoint's save, the last.
        """

        end = None

        def on_epoch_begin(self, net, **kwargs):
            if self.end is not None:
                gaps.append(time.perf_counter() - self.end)

        def on_epoch_end(self, net, **kwargs):
            path = Path(args.directory or "") / "checkpoint.pt"
            if args.directory and path.exists():
                sizes.append(path.stat().st_size)
            self.end = time.perf_counter()

    clf = PseudoLabelCNNClassifier(
        max_epochs=args.epochs,
        student_epochs=0,
        random_state=0,
        checkpoint_dir=args.directory or None,
        callbacks=[Between()],
    )
    start = time.perf_counter()
    clf.fit(X, y)
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            dict(
                seconds_per_epoch=statistics.median(clf.history_[:, "dur"]),
                fit_seconds_per_epoch=seconds / args.epochs,
                seconds_between_epochs=statistics.median(gaps),
                file_mb=max(sizes) / 2**20 if sizes else 0.0,
                precision=clf.precision_,
            )
        )
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--directory", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    runs = {"without": [], "with checkpoint_dir": []}
    for r in range(args.rounds):
        for name in runs:
            with tempfile.TemporaryDirectory() as directory:
                extra = ["--directory", directory] if name != "without" else []
                run = run_worker(__file__, "--worker", "--epochs", args.epochs, *extra)
            runs[name].append(run)
            print(f"round {r}, {name}: {run}", flush=True)

    def median(name, key):
        return statistics.median(r[key] for r in runs[name])

    base = median("without", "fit_seconds_per_epoch")
    rows = [
        [
            name,
            ", ".join(f"{r['fit_seconds_per_epoch']:.2f}" for r in group),
            f"{median(name, 'fit_seconds_per_epoch'):.2f}",
            f"{median(name, 'fit_seconds_per_epoch') / base - 1:+.1%}",
            f"{median(name, 'seconds_per_epoch'):.2f}",
            f"{median(name, 'seconds_between_epochs'):.3f}",
            f"{max(r['file_mb'] for r in group):.1f}",
        ]
        for name, group in runs.items()
    ]
    save = median("with checkpoint_dir", "seconds_between_epochs") - median(
        "without", "seconds_between_epochs"
    )
    cost = save / median("without", "seconds_per_epoch")
    verdict = "meets" if cost < TARGET else "**misses**"
    body = (
        f"`PseudoLabelCNNClassifier()` on all 60,000 MNIST images with 100 "
        f"labels, {args.epochs} Pseudo-Label epochs per fit (no student), "
        f"precision {runs['without'][0]['precision']}; each fit a fresh "
        f"process, the variants alternating over {args.rounds} rounds, nothing "
        "else running. Seconds per epoch of the whole `fit` call (the images' "
        "copy to a tensor, the checkpoints' saves, the transduction and the "
        "test-time views included), compared across processes; skorch's `dur` "
        "(the epoch alone); and the seconds from one epoch's end to the next "
        "one's start, which hold the save and which each process measures of "
        "itself:\n\n"
        + table(
            [
                "variant",
                "fit s/epoch per round",
                "median",
                "vs without",
                "epoch `dur`, median",
                "between epochs, median",
                "checkpoint file (MiB)",
            ],
            rows,
        )
        + f"\n\nThe save takes {save:.3f} s per epoch (between epochs, with "
        f"minus without), {cost:.1%} of an epoch's `dur`. Target: checkpoints "
        f"cost under {TARGET:.0%} of an epoch; this run {verdict} it. The "
        "whole fits' comparison across processes holds the machine's drift "
        "between them as well as the saves."
    )
    write_section("checkpoint", "What checkpoints cost", body)


if __name__ == "__main__":
    main()
