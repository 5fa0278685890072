"""Peak memory of fit on MNIST: no augmentation, on the fly, static 30× expansion.

3,000 labeled + 47,000 unlabeled MNIST training images (uint8), the default
network, one epoch with pseudo-labels active (T1 = T2 = 0, so the unlabeled
refresh is included). Each variant runs in a fresh process; the figure is that
process's peak resident memory (``ru_maxrss``) and its growth during ``fit``.
Result: a section of docs/benchmarks.md.

    .venv/bin/python benchmarks/bench_augment_memory.py
"""

import argparse
import json
import resource
import time

from _report import REFERENCE, mnist_home, run_worker, table, write_section

VARIANTS = ["none", "on the fly", "static 30x"]


def _peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_variant(variant, max_epochs):
    from sklearn_pseudolabel import (
        AugmentationSampler,
        ImageAugmenter,
        PseudoLabelCNNClassifier,
        fetch_mnist,
        hide_labels,
    )

    X, y = fetch_mnist(data_home=mnist_home(), return_X_y=True)
    X, y = X[:50_000], hide_labels(y[:50_000], 3000, random_state=0)
    params = dict(REFERENCE, max_epochs=max_epochs, T1=0, T2=0, random_state=0)
    if variant == "on the fly":
        params["augmenter"] = ImageAugmenter()
    elif variant == "static 30x":
        X, y = AugmentationSampler(random_state=0).fit_resample(X, y)
    before = _peak_mib()
    start = time.perf_counter()
    PseudoLabelCNNClassifier(**params).fit(X, y)
    return {
        "rows": len(X),
        "before": before,
        "peak": _peak_mib(),
        "seconds": time.perf_counter() - start,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-epochs", type=int, default=1)
    parser.add_argument("--variant", choices=VARIANTS)
    args = parser.parse_args()
    if args.variant:  # child process
        print(json.dumps(run_variant(args.variant, args.max_epochs)))
        return
    results = {}
    for variant in VARIANTS:
        results[variant] = run_worker(
            __file__, "--variant", variant, "--max-epochs", args.max_epochs
        )
        print(variant, results[variant], flush=True)
    none = results["none"]
    rows = [
        [
            name,
            f"{r['rows']:,}",
            f"{r['peak']:,.0f}",
            f"{r['peak'] / none['peak']:.2f}×",
            f"{r['peak'] - r['before']:,.0f}",
            f"{(r['peak'] - r['before']) / (none['peak'] - none['before']):.2f}×",
            f"{r['seconds']:.0f}",
        ]
        for name, r in results.items()
    ]
    body = table(
        [
            "augmentation",
            "training rows",
            "peak RSS (MiB)",
            "vs none",
            "growth during fit (MiB)",
            "vs none",
            f"fit time, {args.max_epochs} epoch(s) (s)",
        ],
        rows,
    )
    body += (
        "\n\nTarget: on the fly ≤ 1.1× of none. Peak RSS counts the whole process "
        "(Python, torch, the MNIST arrays); the growth column isolates what `fit` "
        "adds. Static expansion is done by `AugmentationSampler` before `fit`, so "
        "its arrays are part of the baseline too and of the peak."
    )
    write_section("augment-memory", "Peak memory of fit with augmentation", body)


if __name__ == "__main__":
    main()
