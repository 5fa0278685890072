"""Images predicted per second by inference batch size, and the library's choice.

Every eval-mode pass of a fit over many images runs in batches of
``sklearn_pseudolabel._net.inference_batch_size(device)``: the labels each
student learns (nine views of every unlabeled image), ``transduction_``, the
held-out scores and ``predict_proba`` (a step's teacher labels its 448
unlabeled images in one pass). This script times those passes as
``PseudoLabelNet.predict_logits`` makes them (``torch.inference_mode``, the
default ``DropoutCNN`` in eval mode, channels-last) over MNIST training
images, for the default network (channels 32/64/128) and the wide students of
``student_channels="auto"`` (64/128/256), at each batch size, in interleaved
rounds; the section gives the median images per second, the spread and the
speed-up over batches of 1,024 (the size used on every device before
per-device sizes). ``--precision bfloat16`` runs the passes under bfloat16
autocast, as ``precision="bfloat16"`` does (``"auto"`` on a CPU with AMX).
``--device cuda`` writes the section ``inference-batch-cuda``; another CPU
keeps its own with ``--section``::

    .venv/bin/python benchmarks/bench_inference_batch.py
    .venv/bin/python benchmarks/bench_inference_batch.py --precision bfloat16 \
        --section inference-batch-amx
"""

import argparse
import statistics
import time

import torch
from _report import mnist_home, sync, table, write_section

from sklearn_pseudolabel import fetch_mnist
from sklearn_pseudolabel._cnn import DropoutCNN
from sklearn_pseudolabel._net import inference_batch_size

NETWORKS = {
    "default network (32, 64, 128)": (32, 64, 128),
    "wide student (64, 128, 256)": (64, 128, 256),
}
SIZES = (32, 64, 128, 256, 512, 1024)
BEFORE = 1024


def images_per_second(module, X, size, precision):
    """Images per second of one eval-mode pass over ``X`` in batches of ``size``."""
    autocast = torch.autocast(
        X.device.type, dtype=torch.bfloat16, enabled=precision == "bfloat16"
    )
    with torch.inference_mode(), autocast:
        module(X[:size])  # the first call of a shape sets its kernels up
        sync(X.device)
        start = time.perf_counter()
        for i in range(0, len(X), size):
            module(X[i : i + size])
        sync(X.device)
    return len(X) / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=8192, help="images per pass")
    parser.add_argument(
        "--precision", choices=["float32", "bfloat16"], default="float32"
    )
    parser.add_argument("--section", help="section name (default: by device)")
    args = parser.parse_args()
    X, _ = fetch_mnist(data_home=mnist_home(), return_X_y=True)
    X = torch.as_tensor(X[: args.n], dtype=torch.float32, device=args.device)
    X = X.reshape(-1, 1, 28, 28).div_(255.0)
    torch.manual_seed(0)
    modules = {
        name: DropoutCNN(channels=channels).to(args.device).eval()
        for name, channels in NETWORKS.items()
    }
    chosen = inference_batch_size(args.device)
    sizes = sorted({*SIZES, chosen})
    speed = {(name, size): [] for name in modules for size in sizes}
    for r in range(args.rounds):
        for name, module in modules.items():
            for size in sizes:
                speed[name, size].append(
                    images_per_second(module, X, size, args.precision)
                )
        print(f"round {r} done", flush=True)
    rows = []
    for name in modules:
        before = statistics.median(speed[name, BEFORE])
        for size in sizes:
            values = speed[name, size]
            median = statistics.median(values)
            rows.append(
                [
                    name,
                    f"**{size}** (the library's)" if size == chosen else size,
                    f"{median:,.0f}",
                    f"{min(values):,.0f}–{max(values):,.0f}",
                    f"{median / before:.2f}×",
                ]
            )
    body = (
        f"Images per second of an eval-mode pass (`torch.inference_mode`, "
        f"{args.precision}) over "
        f"{len(X):,} MNIST training images on device `{args.device}`, by images "
        f"per batch; median of {args.rounds} interleaved rounds, nothing else "
        f"running. On this device the library predicts in batches of {chosen} "
        f"(`inference_batch_size`); before, in batches of {BEFORE} everywhere.\n\n"
        + table(
            [
                "network",
                "batch size",
                "images/s (median)",
                "range",
                f"speed-up vs {BEFORE}",
            ],
            rows,
        )
    )
    section = args.section or (
        "inference-batch" if args.device == "cpu" else f"inference-batch-{args.device}"
    )
    title = f"Inference batch size ({args.device}, {args.precision})"
    if args.section:
        title += f" ({args.section})"
    write_section(section, title, body, device=args.device)


if __name__ == "__main__":
    main()
