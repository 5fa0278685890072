"""Scaling out: images on disk against in memory, two processes against one.

1. An on-disk ``uint8`` array of ``--rows`` MNIST-sized images (the 60,000
   training images tiled, each copy shifted by a random number of pixels),
   100 of them labeled: one Pseudo-Label epoch of the defaults (no student,
   no test-time augmentation) with ``X`` memory-mapped; then, on the largest
   array whose float copy fits in memory (``--rows-in-memory``), the same
   with ``X`` memory-mapped and with ``X`` in memory. Each fit is a fresh
   process. Reported: the epoch's training images per second, the whole
   fit's minutes, and the process's peak resident memory before and after
   ``fit`` (with the DataLoader workers' apart).
2. One epoch of the defaults on the 60,000 MNIST images with 100 labels in
   one process, then in two (``torchrun --nproc_per_node 2``, gloo), with
   the same global batches: training images per second.

Writes the block "scaling" of docs/benchmarks.md:

    .venv/bin/python benchmarks/bench_scaling.py --rows 4500000
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _report import mnist_home, run_worker, table, write_section


def make_array(path, rows):
    """Write ``rows`` shifted copies of MNIST's training images to ``path``."""
    from sklearn_pseudolabel import fetch_mnist

    X, y = fetch_mnist(data_home=mnist_home(), return_X_y=True)
    images = X.reshape(-1, 28, 28)
    out = np.lib.format.open_memmap(path, "w+", np.uint8, (rows, 28, 28))
    rng = np.random.default_rng(0)
    for start in range(0, rows, len(images)):
        n = min(len(images), rows - start)
        dy, dx = rng.integers(-2, 3, size=2)
        out[start : start + n] = np.roll(images[:n], (dy, dx), axis=(1, 2))
    out.flush()
    labels = np.resize(y, rows)
    np.save(str(path) + ".labels.npy", labels)


def _rss_mib(field):
    """Return a memory figure of this process from /proc/self/status, in MiB.

    ``VmRSS`` (now) or ``VmHWM`` (the peak), which, unlike ``getrusage``'s
    ``ru_maxrss``, does not carry over the peak of the process that started
    this one.
    """
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise OSError(f"no {field} in /proc/self/status")


def _reset_peak():
    """Start this process's peak resident set (``VmHWM``) from now."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def worker(args):
    """One fit: print its epoch's images/s, seconds and memory as JSON."""
    import torch

    from sklearn_pseudolabel import PseudoLabelCNNClassifier, hide_labels

    X = np.load(args.path, mmap_mode="r")
    if args.mode == "memory":
        X = np.array(X)
    y = hide_labels(np.load(args.path + ".labels.npy"), 100, random_state=0)
    before = _rss_mib("VmRSS")
    _reset_peak()
    start = time.perf_counter()
    clf = PseudoLabelCNNClassifier(
        max_epochs=1,
        student_epochs=0,
        test_time_augmentation=False,
        random_state=0,
    ).fit(X, y)
    seconds = time.perf_counter() - start
    steps = clf.history_[-1, "train_batch_count"]
    images = steps * (clf.batch_size + clf.batch_size_unlabeled)
    print(
        json.dumps(
            dict(
                images_per_s=images / clf.history_[-1, "dur"],
                fit_seconds=seconds,
                rss_before=before,
                rss_peak=_rss_mib("VmHWM"),
                rss_workers=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
                / 1024,
                threads=torch.get_num_threads(),
                precision=clf.precision_,
            )
        )
    )


#: The fit of one rank of the two-process run: prints rank 0's images/s.
RANK_SCRIPT = """
import json, sys
import torch.distributed as dist
dist.init_process_group("gloo")
sys.path.insert(0, {benchmarks!r})
from bench_scaling import mnist_epoch
result = mnist_epoch()
if dist.get_rank() == 0:
    print("RESULT " + json.dumps(result))
dist.destroy_process_group()
"""


def mnist_epoch():
    """One epoch of the defaults on MNIST with 100 labels: images/s."""
    from sklearn_pseudolabel import PseudoLabelCNNClassifier, fetch_mnist, hide_labels

    X, y = fetch_mnist(data_home=mnist_home(), return_X_y=True)
    y = hide_labels(y, 100, random_state=0)
    clf = PseudoLabelCNNClassifier(
        max_epochs=1, student_epochs=0, test_time_augmentation=False, random_state=0
    ).fit(X, y)
    steps = clf.history_[-1, "train_batch_count"]
    images = steps * (clf.batch_size + clf.batch_size_unlabeled)
    return dict(images_per_s=images / clf.history_[-1, "dur"])


def two_processes():
    """Run :func:`mnist_epoch` under torchrun on two processes."""
    with tempfile.TemporaryDirectory() as directory:
        script = Path(directory) / "rank.py"
        script.write_text(
            RANK_SCRIPT.format(benchmarks=str(Path(__file__).resolve().parent))
        )
        out = subprocess.run(
            [sys.executable, "-m", "torch.distributed.run"]
            + ["--nproc_per_node", "2", "--standalone", str(script)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=4_500_000)
    parser.add_argument(
        "--rows-in-memory",
        type=int,
        default=1_400_000,
        help="the largest array whose float copy fits in memory: both inputs",
    )
    parser.add_argument("--dir", default=tempfile.gettempdir())
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="disk", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    runs, sizes = {}, {}
    for rows, modes in (
        (args.rows, ["disk"]),
        (args.rows_in_memory, ["disk", "memory"]),
    ):
        path = str(Path(args.dir) / f"scaling_{rows}.npy")
        make_array(path, rows)
        sizes[rows] = os.path.getsize(path) / 2**20
        for mode in modes:
            run = run_worker(__file__, "--worker", "--mode", mode, "--path", path)
            runs[rows, mode] = run
            print(rows, mode, run, flush=True)
        os.remove(path)
        os.remove(path + ".labels.npy")
    one = mnist_epoch()
    two = two_processes()
    print("1 process", one, "2 processes", two, flush=True)
    rows = [
        [
            f"{n:,} ({sizes[n]:,.0f} MiB)",
            f"`X` {'memory-mapped' if mode == 'disk' else 'in memory'}",
            f"{r['images_per_s']:,.0f}",
            f"{r['fit_seconds'] / 60:.1f}",
            f"{r['rss_before']:,.0f}",
            f"{r['rss_peak']:,.0f}",
            f"{r['rss_peak'] - r['rss_before']:,.0f}",
            f"{r['rss_workers']:,.0f}",
        ]
        for (n, mode), r in runs.items()
    ]
    big = runs[args.rows, "disk"]
    size = sizes[args.rows]
    growth = big["rss_peak"] - big["rss_before"]
    body = (
        f"One Pseudo-Label epoch of the defaults (no student, no test-time "
        f"augmentation, precision {big['precision']}) on MNIST-sized uint8 "
        "images (the 60,000 training images tiled, each copy shifted), 100 "
        "labeled; each variant a fresh process. Memory is the process's "
        "resident set (MiB) before `fit` (Python, torch, the data in memory) "
        "and its peak during `fit` (`VmHWM`); the DataLoader workers that "
        "read the file are apart (their largest `ru_maxrss`, which counts the "
        "pages they share with the process that forked them). In memory, the "
        "images' float copy takes four times the array:\n\n"
        + table(
            [
                "images",
                "input",
                "training images/s",
                "fit minutes",
                "RSS before fit",
                "peak RSS",
                "growth during fit",
                "workers' peak RSS",
            ],
            rows,
        )
        + f"\n\nTarget: peak RSS under half the array's size ({size / 2:,.0f} "
        f"MiB for {args.rows:,} images). The fit on disk grew the process by "
        f"{growth:,.0f} MiB "
        + ("(met)" if growth < size / 2 else "(**missed**)")
        + f"; its peak, libraries included, is {big['rss_peak']:,.0f} MiB "
        + ("(met)." if big["rss_peak"] < size / 2 else "(**missed**).")
        + "\n\nTwo processes against one: one epoch of the defaults on the "
        "60,000 MNIST images with 100 labels, the same global batches; one "
        f"process with {big['threads']} threads, then two "
        "(`torchrun --nproc_per_node 2`, gloo) with one each:\n\n"
        + table(
            ["processes", "training images/s", "vs one"],
            [
                ["1", f"{one['images_per_s']:,.0f}", "1.00×"],
                [
                    "2",
                    f"{two['images_per_s']:,.0f}",
                    f"{two['images_per_s'] / one['images_per_s']:.2f}×",
                ],
            ],
        )
    )
    write_section("scaling", "Scaling out: images on disk, several processes", body)


if __name__ == "__main__":
    main()
