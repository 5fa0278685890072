"""Operations per training step: the estimator vs a bare PyTorch loop.

On a GPU the small networks of this library are launch-bound: a step's time
is mostly the host launching its kernels one by one (docs/benchmarks.md,
"Training and prediction speed (cuda)": 3.3 ms per step of the bare loop on
an H100). So the number of device operations a step dispatches is what the
library adds to a GPU fit, and it can be counted on any machine: this script
counts, under a ``TorchDispatchMode``, the ATen operations of the same work as
``bench_speed.py`` (the ``REFERENCE`` network and step, 128 labeled + 64
unlabeled images per step) for the estimator and for ``bench_speed``'s bare
loop, and the estimator's default recipe beside them. Views and other
operations that launch nothing (``detach``, ``slice``, ``view``, ...) are
counted apart. Per step = the difference between two one-epoch fits that
differ only in their number of steps (2,048 and 4,096 unlabeled images), so
that the epoch's own work (the pool's refresh, statistics) cancels out.
Each run is a line of ``benchmarks/results/step_ops.jsonl`` (with its commit:
run it with ``PYTHONPATH`` at another checkout and ``BENCH_COMMIT`` naming
it to count an older version); the section of docs/benchmarks.md shows the
latest run and the REFERENCE ratio of every run.

    .venv/bin/python benchmarks/bench_step_ops.py
    .venv/bin/python benchmarks/bench_step_ops.py --report-only
"""

import collections
import math
import sys

from _report import (
    REFERENCE,
    ROOT,
    log_run,
    mnist_home,
    read_log,
    table,
    write_section,
)
from bench_speed import BATCH, BATCH_U, bare_loop
from torch.utils._python_dispatch import TorchDispatchMode

from sklearn_pseudolabel import PseudoLabelCNNClassifier, _net, fetch_mnist, hide_labels

#: Operations that only make a new view or record metadata: no kernel.
NO_KERNEL = {
    "alias",
    "as_strided",
    "detach",
    "expand",
    "permute",
    "select",
    "slice",
    "split",
    "squeeze",
    "t",
    "transpose",
    "unbind",
    "unsqueeze",
    "view",
    "_unsafe_view",
    "_record_function_enter_new",
    "_record_function_exit",
}
N_LABELED = 256
SIZES = (2048, 4096)
LOG = ROOT / "benchmarks" / "results" / "step_ops.jsonl"


class _Count(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.counts = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.__name__.split(".")[0]
        self.counts["views" if name in NO_KERNEL else "kernels"] += 1
        return func(*args, **(kwargs or {}))


def _count(run):
    mode = _Count()
    with mode:
        run()
    return mode.counts


def main():
    if sys.argv[1:] == ["--report-only"]:
        report()
        return
    X_all, y_all = fetch_mnist(data_home=mnist_home(), return_X_y=True)
    # Counted as on a GPU: the passes over the pool in its inference batches
    # (on a CPU, batches of 128 would add a pass's operations per 128 images,
    # which the difference of two fits would count as the steps'), in float32.
    _net._INFERENCE_BATCH_SIZES = {}
    runs = {
        "bare PyTorch loop (bench_speed.py)": (
            lambda X, y: bare_loop(X, y, 1, "cpu", REFERENCE["channels"]),
            BATCH,
            BATCH_U,
        ),
        "PseudoLabelCNNClassifier(**REFERENCE)": (
            lambda X, y: PseudoLabelCNNClassifier(
                **{**REFERENCE, "max_epochs": 1, "T1": 0, "T2": 0},
                precision="float32",
                random_state=0,
            ).fit(X, y),
            BATCH,
            BATCH_U,
        ),
    }
    defaults = PseudoLabelCNNClassifier().get_params()
    runs["PseudoLabelCNNClassifier() defaults (α = alpha_f from the first step)"] = (
        lambda X, y: PseudoLabelCNNClassifier(
            max_epochs=1,
            T1=0,
            T2=0,
            student_epochs=0,
            test_time_augmentation=False,
            precision="float32",
            random_state=0,
        ).fit(X, y),
        defaults["batch_size"],
        defaults["batch_size_unlabeled"],
    )
    for name, (run, batch, batch_u) in runs.items():
        counts, steps = [], []
        for n_unlabeled in SIZES:
            n = N_LABELED + n_unlabeled
            X = X_all[:n]
            y = hide_labels(y_all[:n], N_LABELED, random_state=0)
            counts.append(_count(lambda X=X, y=y: run(X, y)))
            steps.append(
                max(math.ceil(N_LABELED / batch), math.ceil(n_unlabeled / batch_u))
            )
        per_step = {
            key: (counts[1][key] - counts[0][key]) / (steps[1] - steps[0])
            for key in ("kernels", "views")
        }
        run = log_run(
            LOG,
            dict(
                loop=name,
                images_per_step=f"{batch} + {batch_u}",
                kernels_per_step=per_step["kernels"],
                views_per_step=per_step["views"],
            ),
        )
        print(run, flush=True)
    report()


def report():
    runs = read_log(LOG)
    latest = [r for r in runs if r["commit"] == runs[-1]["commit"]]
    bare = latest[0]["kernels_per_step"]
    cells = []
    for i, r in enumerate(latest):
        # The ratio where the work is the bare loop's.
        same = i and r["images_per_step"] == latest[0]["images_per_step"]
        ratio = f" ({r['kernels_per_step'] / bare:.2f}×)" if same else ""
        cells.append(
            [
                r["loop"],
                r["images_per_step"],
                f"{r['kernels_per_step']:.1f}{ratio}",
                f"{r['views_per_step']:.1f}",
            ]
        )
    body = table(
        [
            "training loop",
            "images per step (labeled + unlabeled)",
            "operations per step that launch a kernel",
            "views and records (no kernel)",
        ],
        cells,
    )
    body += (
        f"\n\nATen operations dispatched per training step on the CPU "
        f"(`TorchDispatchMode`), MNIST, {N_LABELED} labeled images; per step: "
        f"the difference between one-epoch fits on {SIZES[0]:,} and "
        f"{SIZES[1]:,} unlabeled images divided by the difference in steps, so "
        "that the epoch's own work cancels out. The first two rows do the same "
        "work as `bench_speed.py`; the defaults' step also asks its teacher "
        "(the weight average) for the unlabeled batch, augments the labeled "
        "one and updates the average; it predicts `transduction_` in one "
        "view, as the defaults did before `test_time_augmentation` (its 9 "
        "views of the pool, spread over the steps, would add about 131 "
        "operations per step: the fit's end, not its steps). Counted as a GPU "
        "runs the fits: float32 "
        "(`precision='auto'` there) and the passes over the unlabeled pool in "
        "the GPU's inference batches of 1,024 (on a CPU they are 128 images: "
        "the pool's passes would add about 16 operations per step), as the "
        "runs of the first three commits below did on a CPU without AMX, "
        "before those batches. The counts do not depend on the machine and "
        "are what a launch-bound GPU step pays for; they are not timings. "
        f"Latest run: commit {latest[0]['commit']}.\n\nEvery run "
        "(`benchmarks/results/step_ops.jsonl`), kernels per step:\n\n"
    )
    commits = list(dict.fromkeys(r["commit"] for r in runs))
    loops = list(dict.fromkeys(r["loop"] for r in runs))
    by = {(r["commit"], r["loop"]): r["kernels_per_step"] for r in runs}
    body += table(
        ["commit", *loops],
        [
            [c, *(f"{by[c, loop]:.1f}" if (c, loop) in by else "–" for loop in loops)]
            for c in commits
        ],
    )
    write_section("step-ops", "Operations per training step", body)


if __name__ == "__main__":
    main()
