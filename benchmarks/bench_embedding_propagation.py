"""Label spreading on a fitted network's features: would it fix its errors.

A diagnostic for the accuracy work (issue 11): load a classifier fitted on
MNIST with few labels (``--save DIR`` of ``bench_ablation.py`` or
``bench_lee_table.py``), take the output of its last hidden layer (the
features the output layer reads; L2-normalised) for the 60,000 training and
10,000 test images, and compare the network's own test error with

- ``LabelSpreading(kernel="knn")`` on those features, fitted with the same
  labeled rows (the graph's labels for the unlabeled rows, and its
  ``predict`` for the test images);
- a 10-nearest-neighbour classifier fitted on the network's own labels for
  every training image (``transduction_``);
- a 1-nearest-neighbour classifier on the labeled rows alone.

If propagation on the features beats the network, a graph teacher (labels
from the neighbours in feature space) is worth building. Result: a section of
docs/benchmarks.md, one row per model file.

    .venv/bin/python benchmarks/bench_embedding_propagation.py --models M --seeds 1
"""

import time
from pathlib import Path

import joblib
import numpy as np
import torch
from _report import (
    mnist_home,
    parse_saved_models,
    saved_models_parser,
    table,
    write_section,
)
from sklearn.neighbors import KNeighborsClassifier
from sklearn.semi_supervised import LabelSpreading

from sklearn_pseudolabel import fetch_mnist, hide_labels
from sklearn_pseudolabel._validation import as_image_tensor

NEIGHBOURS = (10, 30)


def features(module, X, batch=2048):
    """L2-normalised input of the output layer (the last hidden features)."""
    module = module.eval().float()
    X = as_image_tensor(X, module.input_shape)
    out = []
    # The output layer's input, captured from the module's own forward pass.
    hook = module.classifier[-1].register_forward_hook(
        lambda layer, inputs, output: out.append(inputs[0])
    )
    try:
        with torch.inference_mode():
            for start in range(0, len(X), batch):
                module(X[start : start + batch])
    finally:
        hook.remove()
    F = torch.cat(out).numpy()
    return F / np.linalg.norm(F, axis=1, keepdims=True)


def main():
    args = parse_saved_models(saved_models_parser())
    X, y = fetch_mnist(data_home=mnist_home(), return_X_y=True)
    X_test, y_test = fetch_mnist(subset="test", data_home=mnist_home(), return_X_y=True)
    rows = []
    for path, seed in zip(args.models, args.seeds):
        clf = joblib.load(path)
        y_partial = hide_labels(y, args.n_labeled, random_state=seed)
        unlabeled = y_partial == -1
        F, F_test = features(clf.module_, X), features(clf.module_, X_test)

        def error(predicted, truth):
            return f"{100 * np.mean(predicted != truth):.2f}"

        row = [
            Path(path).name,
            seed,
            error(clf.predict(X_test), y_test),
            error(clf.transduction_[unlabeled], y[unlabeled]),
        ]
        for k in NEIGHBOURS:
            start = time.perf_counter()
            spread = LabelSpreading(kernel="knn", n_neighbors=k, max_iter=100)
            spread.fit(F, y_partial)
            row += [
                error(spread.predict(F_test), y_test),
                error(spread.transduction_[unlabeled], y[unlabeled]),
            ]
            print(f"{path}: k={k} in {time.perf_counter() - start:.1f} s", flush=True)
        knn = KNeighborsClassifier(10).fit(F, clf.transduction_)
        one_nn = KNeighborsClassifier(1).fit(F[~unlabeled], y_partial[~unlabeled])
        row += [
            error(knn.predict(F_test), y_test),
            error(one_nn.predict(F_test), y_test),
        ]
        rows.append(row)
    header = ["model file", "draw", "network: test", "network: unlabeled rows"]
    for k in NEIGHBOURS:
        header += [f"spreading k={k}: test", f"spreading k={k}: unlabeled rows"]
    header += ["10-NN on the network's labels: test", "1-NN on the labeled rows: test"]
    body = (
        f"Error (%) on the 10,000 MNIST test images and on the unlabeled training "
        f"rows, {args.n_labeled} labels (draw `seed`). Features: the fitted "
        "network's last hidden layer, L2-normalised; `LabelSpreading(kernel='knn', "
        "alpha=0.2)` fitted on the 60,000 training features with the same "
        "labeled rows. A diagnostic of whether label propagation in the learned "
        "feature space would correct the network, not a method of the library. "
        "The model files come from `--save` of the accuracy benchmarks (their "
        "runs are in those sections).\n\n" + table(header, rows)
    )
    write_section(
        "embedding-propagation", "Label spreading on the network's features", body
    )


if __name__ == "__main__":
    main()
