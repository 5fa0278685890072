r"""Seconds per epoch of the defaults on MNIST, by precision and code version.

Each measurement is a fresh process (``--worker``) that fits
``PseudoLabelCNNClassifier(max_epochs=E, precision=P, random_state=0)`` on all
60,000 MNIST images with 100 labels and prints the median of its epochs'
durations (skorch's ``dur``; every epoch trains on both streams). The
variants run in interleaved rounds, so that the machine's drift hits them
alike; the section reports each round, the median and the ratio to the first
variant. ``--baseline PATH`` adds, before each precision, a variant run with
``PYTHONPATH=PATH``, e.g. a worktree of an older commit (a code without the
``precision`` parameter runs float32 only)::

    git worktree add /tmp/old f781241
    .venv/bin/python benchmarks/bench_precision.py --baseline /tmp/old --rounds 3

The block ("fit-time", or "fit-time-cuda" on a GPU) says what
``precision="auto"`` resolves to on the machine.
"""

import argparse
import json
import os
import statistics
import subprocess
import time

from _report import mnist_home, run_worker, table, write_section


def worker(args):
    """Fit once and print ``{"seconds_per_epoch": ..., "test_error": ...}``."""
    import inspect

    import torch

    import sklearn_pseudolabel
    from sklearn_pseudolabel import PseudoLabelCNNClassifier, fetch_mnist, hide_labels

    torch.set_num_threads(args.threads)
    X, y = fetch_mnist(data_home=mnist_home(), return_X_y=True)
    y = hide_labels(y, 100, random_state=0)
    params = dict(max_epochs=args.epochs, random_state=0, device=args.device)
    (precision,) = args.precision
    accepted = inspect.signature(PseudoLabelCNNClassifier).parameters
    if "student_epochs" in accepted:
        params["student_epochs"] = 0  # the seconds of the Pseudo-Label epochs
    if "precision" in accepted:
        params["precision"] = precision
    elif precision != "float32":
        raise SystemExit("this version of the code has no precision parameter")
    start = time.perf_counter()
    clf = PseudoLabelCNNClassifier(**params).fit(X, y)
    print(
        json.dumps(
            dict(
                seconds_per_epoch=statistics.median(clf.history_[:, "dur"]),
                fit_seconds=time.perf_counter() - start,
                code=sklearn_pseudolabel.__file__,
            )
        )
    )


def measure(args, precision, pythonpath=None):
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    result = run_worker(
        __file__,
        "--worker",
        "--precision",
        precision,
        "--epochs",
        args.epochs,
        "--threads",
        args.threads,
        "--device",
        args.device,
        env=env,
    )
    print(f"  ({result['code']})", flush=True)
    return result["seconds_per_epoch"], result["fit_seconds"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--precision", nargs="+", default=["float32", "bfloat16"])
    parser.add_argument("--baseline", help="PYTHONPATH of an older checkout")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    on_cpu = args.device == "cpu"
    section = "fit-time" if on_cpu else "fit-time-cuda"

    variants = []
    for p in args.precision:
        if args.baseline:
            variants.append((f"{p} (baseline)", p, args.baseline))
        variants.append((f"{p} (this commit)", p, None))
    seconds = {name: [] for name, _, _ in variants}
    fits = {name: [] for name, _, _ in variants}
    for r in range(args.rounds):
        for name, precision, path in variants:
            epoch, fit = measure(args, precision, path)
            seconds[name].append(epoch)
            fits[name].append(fit)
            print(
                f"round {r}: {name}: {epoch:.2f} s/epoch, fit {fit:.1f} s",
                flush=True,
            )
    first = statistics.median(seconds[variants[0][0]])
    rows = [
        [
            name,
            ", ".join(f"{s:.2f}" for s in values),
            f"{statistics.median(values):.2f}",
            f"{first / statistics.median(values):.2f}×",
            f"{statistics.median(fits[name]):.1f}",
        ]
        for name, values in seconds.items()
    ]
    baseline = ""
    if args.baseline:
        head = subprocess.run(
            ["git", "-C", args.baseline, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        baseline = f" The baseline is commit {head} (`--baseline`)."
    body = (
        "Seconds per epoch of `PseudoLabelCNNClassifier()` (its defaults: "
        "134 steps of 64 labeled + 448 unlabeled images, teacher pass, "
        "student pass and backward, EMA update) on all 60,000 MNIST images with "
        f"100 labels, {args.epochs} epochs per fit, median of the fit's epochs "
        "(the whole fit adds loading and `transduction_`); "
        f"each fit a fresh process with {args.threads} threads on device "
        f"`{args.device}`, variants interleaved over {args.rounds} rounds, "
        "nothing else running. "
        + _auto_precision(args.device)
        + baseline
        + "\n\n"
        + table(
            [
                "variant",
                "s/epoch per round",
                "median",
                "speed-up vs first row",
                "whole fit (s), median",
            ],
            rows,
        )
    )
    title = f"Fit time by precision ({'cpu' if on_cpu else 'cuda'})"
    write_section(section, title, body, device=args.device)


def _auto_precision(device):
    """Say what ``precision="auto"`` resolves to on ``device``."""
    from sklearn.datasets import load_digits

    from sklearn_pseudolabel import PseudoLabelCNNClassifier

    X, y = load_digits(return_X_y=True)
    clf = PseudoLabelCNNClassifier(max_epochs=1, student_epochs=0, device=device)
    precision = clf.fit(X[:200] / 16, y[:200]).precision_
    return f"Here `precision='auto'` resolves to {precision}."


if __name__ == "__main__":
    main()
