r"""Does ``torch.compile`` pay for the default network? Compile time vs step time.

Each variant (eager, ``torch.compile``) runs in a fresh process
(``--worker``) with an empty inductor cache, so that its first passes pay the
whole compilation. It builds the network of ``PseudoLabelCNNClassifier()``
(its default ``channels``, ``kernel_sizes``, ``batch_norm``, ``hidden_units``,
...) for MNIST and times three passes on real MNIST images, each first once
(compilation + one pass) and then ``--steps`` times (the median):

- a training step: 64 labeled + 448 unlabeled images, forward, cross-entropy,
  backward, SGD with Nesterov momentum;
- a teacher pass: the step's 448 unlabeled images in eval mode under
  ``inference_mode`` (what the default teacher does before each step);
- an inference batch: 1,024 images in eval mode (prediction, refreshes).

From these, three plans for a default fit's step (a teacher pass and a
training step): eager, everything compiled, the eval passes only compiled,
with the steps each compilation needs to pay for itself. The plans are sums of
measured passes, not fits: a fit also meets other batch shapes (an epoch's
last, smaller batch), which may compile again. Result: a section of
docs/benchmarks.md.

    .venv/bin/python benchmarks/bench_compile.py [--device cuda] [--steps 50]
"""

import argparse
import inspect
import json
import math
import os
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F
from _report import mnist_home, run_worker, sync, table, write_section

from sklearn_pseudolabel import DropoutCNN, PseudoLabelCNNClassifier, fetch_mnist

DEFAULTS = PseudoLabelCNNClassifier().get_params()
BATCH, BATCH_U = DEFAULTS["batch_size"], DEFAULTS["batch_size_unlabeled"]
INFER = 1024
# A 60-epoch Pseudo-Label fit on MNIST with 100 labels, one pass over the
# 59,900 unlabeled images per epoch: the defaults when the section was
# measured (since then 45 epochs, then a student whose steps are labeled-only).
DEFAULT_STEPS = 60 * math.ceil(59_900 / BATCH_U)
VARIANTS = ("eager", "compile")


def _timed(fn, device):
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def worker(args):
    """Time one variant and print its figures as one JSON line."""
    torch.manual_seed(0)
    device = args.device
    names = inspect.signature(DropoutCNN).parameters
    cnn = {k: DEFAULTS[k] for k in names if k in DEFAULTS}
    model = DropoutCNN(input_shape=(1, 28, 28), n_classes=10, **cnn).to(device)
    opt = torch.optim.SGD(
        model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4
    )
    forward = torch.compile(model) if args.variant == "compile" else model
    X, y = fetch_mnist(data_home=mnist_home(), return_X_y=True)
    n = BATCH + BATCH_U
    X = torch.tensor(X[: n * 8], device=device).reshape(-1, 1, 28, 28).float() / 255
    y = torch.as_tensor(y[: n * 8].astype("int64"), device=device)
    batches = list(zip(X.split(n), y.split(n)))

    def train_step(i):
        xb, yb = batches[i % len(batches)]
        model.train()
        loss = F.cross_entropy(forward(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def infer(i, size):
        model.eval()
        with torch.inference_mode():
            forward(X[(i % 4) * size : (i % 4 + 1) * size]).argmax(1)

    passes = {
        "train": train_step,
        "teacher": lambda i: infer(i, BATCH_U),
        "infer": lambda i: infer(i, INFER),
    }
    result = {}
    for part, run in passes.items():
        result[f"first_{part}"] = _timed(lambda: run(0), device)
        times = [_timed(lambda i=i: run(i), device) for i in range(1, args.steps + 1)]
        result[part] = statistics.median(times)
    print(json.dumps(result))


def measure(args, variant):
    with tempfile.TemporaryDirectory() as cache:
        return run_worker(
            __file__,
            "--worker",
            "--variant",
            variant,
            "--device",
            args.device,
            "--steps",
            args.steps,
            env=dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache),
        )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    eager, compiled = (measure(args, variant) for variant in VARIANTS)
    rows = [
        [
            name,
            f"{1000 * eager[part]:.1f}",
            f"{1000 * compiled[part]:.1f}",
            f"{eager[part] / compiled[part]:.2f}×",
            f"{_compilation(compiled, part):.1f}",
        ]
        for name, part in [
            (f"training step ({BATCH} + {BATCH_U} images, train mode)", "train"),
            (f"teacher pass ({BATCH_U} images, eval mode)", "teacher"),
            (f"inference batch ({INFER} images, eval mode)", "infer"),
        ]
    ]
    body = table(
        [
            "pass",
            "eager (ms, median)",
            "compiled (ms, median)",
            "speed-up",
            "compilation (s)",
        ],
        rows,
    )
    # A default fit's step: the teacher labels the unlabeled batch (eval
    # pass), then the student trains on both batches.
    plans = {
        "eager": (eager["train"] + eager["teacher"], 0.0),
        "compile everything": (
            compiled["train"] + compiled["teacher"],
            _compilation(compiled, "train") + _compilation(compiled, "teacher"),
        ),
        "compile the eval passes only": (
            eager["train"] + compiled["teacher"],
            _compilation(compiled, "teacher"),
        ),
    }
    base = plans["eager"][0]
    plan_rows = []
    for name, (step, cost) in plans.items():
        saved = base - step
        plan_rows.append(
            [
                name,
                f"{1000 * step:.1f}",
                f"{base / step:.2f}×",
                f"{cost:.1f}",
                "–" if not cost else (f"{cost / saved:,.0f}" if saved > 0 else "never"),
                f"{(DEFAULT_STEPS * saved - cost) / 60:+.1f}",
            ]
        )
    body += "\n\nA default fit's step is a teacher pass and a training step:\n\n"
    body += table(
        [
            "plan",
            "step (ms)",
            "speed-up",
            "compilation (s)",
            "steps to pay it back",
            f"minutes saved over {DEFAULT_STEPS:,} steps",
        ],
        plan_rows,
    )
    body += (
        f"\n\nThe default network of `PseudoLabelCNNClassifier()` on MNIST, device "
        f"`{args.device}`; SGD with Nesterov momentum; medians over {args.steps} "
        "of each pass after the first, whose time beyond a steady pass is the "
        "compilation. Each variant runs in a fresh process with an empty "
        f"inductor cache. {DEFAULT_STEPS:,} steps is a 60-epoch Pseudo-Label "
        f"fit on MNIST ({DEFAULT_STEPS // 60} steps per epoch; the defaults "
        "before the student round); the plans are sums of "
        "the measured passes "
        "and do not count the further compilations that a fit's other batch "
        "shapes (an epoch's last, smaller batch) may cause.\n"
    )
    write_section(
        f"compile-{args.device}",
        f"torch.compile and the default network ({args.device})",
        body,
        device=args.device,
    )


def _compilation(result, part):
    """Seconds the first pass took beyond a steady one."""
    return result[f"first_{part}"] - result[part]


if __name__ == "__main__":
    main()
