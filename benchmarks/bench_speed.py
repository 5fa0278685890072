"""Training and prediction speed: the estimator vs a bare PyTorch loop.

Both sides do the same work on the same MNIST data (3,000 labeled + 47,000
unlabeled by default): the same DropoutCNN, SGD with momentum, labeled batches
of 128 and unlabeled batches of 64, one epoch = one pass over the unlabeled
images with the labeled ones cycled, pseudo-labels refreshed for the whole
unlabeled set at the start of each epoch in eval mode, loss = CE(labeled) +
α · CE(pseudo-labeled) with α = alpha_f from the first epoch. Prediction:
``predict_proba`` on the 10,000 test images vs ``softmax(module(x))`` over the
same batches. The two sides alternate, one epoch each per round (a fresh
1-epoch fit of each), so that a drift of the machine's speed hits both alike;
the ratio is the median of the per-round ratios. Result: a section of
docs/benchmarks.md ("speed", or "speed-cuda" on a GPU).

    .venv/bin/python benchmarks/bench_speed.py [--device cuda] [--rounds 5]
"""

import argparse
import math
import statistics
import time

import torch
import torch.nn.functional as F
from _report import REFERENCE, mnist_home, sync, table, write_section

from sklearn_pseudolabel import (
    DropoutCNN,
    PseudoLabelCNNClassifier,
    fetch_mnist,
    hide_labels,
)

BATCH, BATCH_U = 128, 64


def bare_loop(X, y, epochs, device, channels, infer, alpha=3.0, seed=0):
    """Hand-written equivalent of PseudoLabelCNNClassifier.fit.

    Returns the seconds of each epoch, the seconds of the whole call, the
    seconds of a final prediction of the unlabeled rows (what ``fit`` does for
    ``transduction_``; timed separately, not part of the whole call) and the
    model. ``infer`` is the estimator's inference batch size on ``device``,
    so that both sides do the same work.
    """
    call_start = time.perf_counter()
    torch.manual_seed(seed)
    X = torch.tensor(X, device=device).reshape(-1, 1, 28, 28).float().div_(255)
    y = torch.as_tensor(y, device=device)
    lab, unl = torch.nonzero(y >= 0).flatten(), torch.nonzero(y < 0).flatten()
    model = DropoutCNN(input_shape=(1, 28, 28), n_classes=10, channels=channels)
    model = model.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.998)
    n_steps = max(math.ceil(len(lab) / BATCH), math.ceil(len(unl) / BATCH_U))
    gen = torch.Generator().manual_seed(seed)
    durations = []
    for _ in range(epochs):
        sync(device)
        start = time.perf_counter()
        model.eval()
        with torch.inference_mode():
            pseudo = torch.cat(
                [
                    model(X[unl[i : i + infer]]).argmax(1)
                    for i in range(0, len(unl), infer)
                ]
            ).clone()
        model.train()
        reps = math.ceil(n_steps * BATCH / len(lab))
        perm_l = torch.cat(
            [torch.randperm(len(lab), generator=gen) for _ in range(reps)]
        )
        perm_l = perm_l[: n_steps * BATCH].to(device).split(BATCH)
        perm_u = torch.randperm(len(unl), generator=gen).to(device).split(BATCH_U)
        losses = []
        for pl, pu in zip(perm_l, perm_u):
            logits = model(X[torch.cat([lab[pl], unl[pu]])])
            loss = F.cross_entropy(logits[: len(pl)], y[lab[pl]]) + alpha * (
                F.cross_entropy(logits[len(pl) :], pseudo[pu])
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.detach())  # logged once per epoch, as the net does
        torch.stack(losses).tolist()
        sched.step()
        sync(device)
        durations.append(time.perf_counter() - start)
    call = time.perf_counter() - call_start
    start = time.perf_counter()
    model.eval()
    with torch.inference_mode():
        torch.cat(
            [model(X[unl[i : i + infer]]).argmax(1) for i in range(0, len(unl), infer)]
        ).cpu()
    sync(device)
    return durations, call, time.perf_counter() - start, model


def bare_predict(model, X, device, infer):
    sync(device)
    start = time.perf_counter()
    X = torch.tensor(X, device=device).reshape(-1, 1, 28, 28).float().div_(255)
    model.eval()
    with torch.inference_mode():
        proba = (
            torch.cat(
                [
                    torch.softmax(model(X[i : i + infer]), 1)
                    for i in range(0, len(X), infer)
                ]
            )
            .cpu()
            .numpy()
        )
    return time.perf_counter() - start, proba


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n-labeled", type=int, default=3000)
    parser.add_argument("--n-unlabeled", type=int, default=47000)
    args = parser.parse_args()
    channels = REFERENCE["channels"]

    X, y = fetch_mnist(data_home=mnist_home(), return_X_y=True)
    X_test, _ = fetch_mnist(subset="test", data_home=mnist_home(), return_X_y=True)
    n = args.n_labeled + args.n_unlabeled
    X, y = X[:n], hide_labels(y[:n], args.n_labeled, random_state=0)
    n_steps = max(
        math.ceil(args.n_labeled / BATCH), math.ceil(args.n_unlabeled / BATCH_U)
    )
    images_per_epoch = n_steps * (BATCH + BATCH_U)

    # Warm-up (allocator, kernels) outside the timings.
    clf = PseudoLabelCNNClassifier(
        **{**REFERENCE, "max_epochs": 1, "T1": 0, "T2": 0, "channels": channels},
        device=args.device,
        # The bare loop's precision ("auto" would be bfloat16 on a CPU with AMX).
        precision="float32",
        random_state=0,
    )
    clf.fit(X[:2000], y[:2000])
    infer = clf.inference_batch_size_
    bare_loop(X[:2000], y[:2000], 1, args.device, channels, infer)
    bare, ours, bare_call, ours_call, bare_trans = [], [], [], [], []
    for _ in range(args.rounds):
        epochs, call, transduction, _ = bare_loop(X, y, 1, args.device, channels, infer)
        bare += epochs
        bare_call.append(call)
        bare_trans.append(transduction)
        sync(args.device)
        start = time.perf_counter()
        ours += clf.fit(X, y).history_[:, "dur"]
        sync(args.device)
        ours_call.append(time.perf_counter() - start)
        print(
            f"epoch: ours {ours[-1]:.2f} s, bare {bare[-1]:.2f} s; call: ours "
            f"{ours_call[-1]:.2f} s, bare {bare_call[-1]:.2f} s "
            f"(+{bare_trans[-1]:.2f} s transduction)",
            flush=True,
        )
    model = clf.module_
    t_ours_epoch, t_bare_epoch = statistics.median(ours), statistics.median(bare)

    def ratios(ours, bare):
        values = [o / b for o, b in zip(ours, bare)]
        return f"{statistics.median(values):.3f}× ({min(values):.3f}–{max(values):.3f})"

    with_transduction = [c + t for c, t in zip(bare_call, bare_trans)]

    # Prediction: alternating, 3x as many rounds as fit (it is short).
    bare_pred, ours_pred = [], []
    bare_predict(model, X_test, args.device, infer)
    for _ in range(3 * args.rounds):
        bare_pred.append(bare_predict(model, X_test, args.device, infer)[0])
        sync(args.device)
        start = time.perf_counter()
        clf.predict_proba(X_test)
        sync(args.device)
        ours_pred.append(time.perf_counter() - start)
    t_ours_pred, t_bare_pred = (
        statistics.median(ours_pred),
        statistics.median(bare_pred),
    )

    rows = [
        [
            "fit: seconds per epoch (median)",
            f"{t_ours_epoch:.2f}",
            f"{t_bare_epoch:.2f}",
            ratios(ours, bare),
            "≤ 1.03×",
        ],
        [
            "fit: seconds of the whole call (median), vs the bare training loop",
            f"{statistics.median(ours_call):.2f}",
            f"{statistics.median(bare_call):.2f}",
            ratios(ours_call, bare_call),
            "≤ 1.03×",
        ],
        [
            "the same, the bare loop also predicting the unlabeled rows "
            "(`transduction_`)",
            f"{statistics.median(ours_call):.2f}",
            f"{statistics.median(with_transduction):.2f}",
            ratios(ours_call, with_transduction),
            "",
        ],
        [
            "fit: training images/s",
            f"{images_per_epoch / t_ours_epoch:,.0f}",
            f"{images_per_epoch / t_bare_epoch:,.0f}",
            "",
            "≥ 50,000 on one H100",
        ],
        [
            f"predict_proba: seconds for {len(X_test):,} images (median)",
            f"{t_ours_pred:.3f}",
            f"{t_bare_pred:.3f}",
            ratios(ours_pred, bare_pred),
            "≤ 1.03×",
        ],
        [
            "predict_proba: images/s",
            f"{len(X_test) / t_ours_pred:,.0f}",
            f"{len(X_test) / t_bare_pred:,.0f}",
            "",
            "",
        ],
    ]
    body = table(
        ["measure", "PseudoLabelCNNClassifier", "bare PyTorch", "ratio", "target"], rows
    )
    body += (
        f"\n\n{args.n_labeled:,} labeled + {args.n_unlabeled:,} unlabeled MNIST "
        "images, "
        f"{n_steps} steps of {BATCH} + {BATCH_U} images per epoch "
        f"({images_per_epoch:,} training images, plus the refresh forward pass over "
        f"the unlabeled images), {args.rounds} rounds of one epoch each, alternating, "
        f"device `{args.device}`, float32 on both sides; ratios: median of the "
        "per-round ratios "
        "(min–max in brackets). "
        f"Epoch times: ours {[round(d, 2) for d in ours]}, bare "
        f"{[round(d, 2) for d in bare]}."
    )
    on_gpu = torch.device(args.device).type == "cuda"
    name = "speed-cuda" if on_gpu else "speed"
    title = "Speed against a bare PyTorch loop (" + ("cuda)" if on_gpu else "cpu)")
    write_section(name, title, body, args.device)


if __name__ == "__main__":
    main()
