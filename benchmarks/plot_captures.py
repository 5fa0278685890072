"""Show the group of images a fitted model gave to the wrong class.

A diagnostic for the accuracy work (issue 11). The bad label draws at 100
labels lose most of their error to one group of one digit labelled as
another (e.g. 7→3 on draw 3): which images are they? For each model file
(``--save DIR`` of ``bench_ablation.py`` or ``bench_lee_table.py``) this
finds the largest wrong cell of ``transduction_`` against the hidden labels
of the unlabeled rows (true digit ``t`` labelled ``p``) and draws three rows
of images: the labeled images of ``t`` (all the network was told about
``t``), unlabeled images of ``t`` labelled ``p`` and unlabeled images of
``t`` labelled ``t``, evenly spaced through each set.

Could the other images' labels pull the group back? An *oracle* answers:
the default CNN trained without pseudo-labels on ``--oracle-images``
training images with their true labels, none of them from the unlabeled
images of ``t`` that the model got wrong, then asked about those. If even it
calls few of them ``t``, no labels of the rest of the data will, and only a
labeled example of the group (or an invariance that maps it onto ``t``) can.
Two oracles: one whose labeled view is the weak ``RandomDistortion`` alone,
one whose view also draws random strokes on half of the images
(``augmenter="auto"``).

Result: one figure per model in docs/_static/ and a section of
docs/benchmarks.md.

    .venv/bin/python benchmarks/plot_captures.py --models M --seeds 3
"""

import re
import warnings
from pathlib import Path

import joblib
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from _report import (  # noqa: E402
    ROOT,
    mnist_home,
    parse_saved_models,
    saved_models_parser,
    table,
    write_section,
)
from sklearn.metrics import confusion_matrix  # noqa: E402

from sklearn_pseudolabel import (  # noqa: E402
    PseudoLabelCNNClassifier,
    RandomDistortion,
    fetch_mnist,
    hide_labels,
)
from sklearn_pseudolabel._distort import WEAK_DISTORTION  # noqa: E402

FIGURES = ROOT / "docs" / "_static"
#: Images per row of a figure.
COLUMNS = 12


def largest_capture(y_true, y_assigned, labels):
    """Return ``(t, p, count)``: the largest off-diagonal confusion cell."""
    confusion = confusion_matrix(y_true, y_assigned, labels=labels)
    np.fill_diagonal(confusion, 0)
    t, p = np.unravel_index(np.argmax(confusion), confusion.shape)
    return labels[t], labels[p], int(confusion[t, p])


def spaced(indices, k=COLUMNS):
    """Return up to ``k`` of ``indices``, evenly spaced through them."""
    if len(indices) <= k:
        return indices
    return indices[np.linspace(0, len(indices) - 1, k).round().astype(int)]


def figure(X, rows, titles, path):
    """Save a grid of 28×28 images, one titled row per index array."""
    fig, axes = plt.subplots(
        len(rows),
        COLUMNS,
        figsize=(COLUMNS * 0.6, len(rows) * 0.85),
        gridspec_kw=dict(hspace=0.45, wspace=0.05),
    )
    for axes_row, indices, title in zip(axes, rows, titles):
        for ax in axes_row:
            ax.axis("off")
        for ax, i in zip(axes_row, indices):
            ax.imshow(X[i].reshape(28, 28), cmap="gray_r")
        axes_row[0].set_title(title, loc="left", fontsize=8)
    fig.subplots_adjust(left=0.01, right=0.99, top=0.9, bottom=0.02)
    fig.savefig(path, dpi=100)
    plt.close(fig)


#: The oracles' views of their labeled images.
ORACLE_VIEWS = {
    "weak view": RandomDistortion(**WEAK_DISTORTION),
    "weak view + strokes": RandomDistortion(**WEAK_DISTORTION, stroke_probability=0.5),
}


def oracle(X, y, group, n_images, epochs, augmenter, seed=0):
    """Fit the supervised default CNN on true labels of images outside ``group``.

    Return it: ``n_images`` training images (None: all) drawn at random from
    those not in ``group``, every one with its true label.
    """
    rng = np.random.default_rng(seed)
    rows = np.setdiff1d(np.arange(len(y)), group)
    if n_images is not None:
        rows = rng.choice(rows, n_images, replace=False)
    clf = PseudoLabelCNNClassifier(
        alpha_f=0.0,
        max_epochs=epochs,
        augmenter=augmenter,
        # Asked about the clean images, as the oracles before the option were.
        test_time_augmentation=False,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "y contains no unlabeled samples")
        return clf.fit(X[rows], y[rows])


def top_classes(labels, k=3):
    """Format the ``k`` most frequent of ``labels`` as ``"label: n"``."""
    values, counts = np.unique(labels, return_counts=True)
    order = np.argsort(counts)[::-1][:k]
    return ", ".join(f"{values[i]}: {counts[i]}" for i in order)


def main():
    parser = saved_models_parser()
    parser.add_argument(
        "--oracle-images", type=int, help="default: every image outside the group"
    )
    parser.add_argument("--oracle-epochs", type=int, default=3)
    args = parse_saved_models(parser)
    X, y = fetch_mnist(data_home=mnist_home(), return_X_y=True)
    X_test, y_test = fetch_mnist(subset="test", data_home=mnist_home(), return_X_y=True)
    lines, images = [], []
    for path, seed in zip(args.models, args.seeds):
        clf = joblib.load(path)
        y_partial = hide_labels(y, args.n_labeled, random_state=seed)
        unlabeled = y_partial == -1
        assigned = clf.transduction_
        t, p, count = largest_capture(y[unlabeled], assigned[unlabeled], clf.classes_)
        of_t = unlabeled & (y == t)
        captured = np.flatnonzero(of_t & (assigned == p))
        kept = np.flatnonzero(of_t & (assigned == t))
        labeled = np.flatnonzero(y_partial == t)
        wrong = np.flatnonzero(of_t & (assigned != t))
        answers = []
        for view in ORACLE_VIEWS.values():
            truth = oracle(X, y, wrong, args.oracle_images, args.oracle_epochs, view)
            called = truth.predict(X[wrong])
            answers += [
                f"{100 * np.mean(called == t):.1f}",
                top_classes(called),
                f"{100 * (1 - truth.score(X_test, y_test)):.2f}",
            ]
        stem = re.sub(r"[^A-Za-z0-9]+", "-", Path(path).stem).strip("-")
        name = f"capture_{stem}.png"
        figure(
            X,
            [labeled, spaced(captured), spaced(kept)],
            [
                f"the {len(labeled)} labeled {t}s",
                f"unlabeled {t}s labelled {p} ({count})",
                f"unlabeled {t}s labelled {t} ({len(kept)})",
            ],
            FIGURES / name,
        )
        lines.append(
            [
                Path(path).name,
                seed,
                f"{t}→{p}",
                count,
                f"{100 * count / of_t.sum():.1f}",
                f"{100 * np.mean(assigned[unlabeled] != y[unlabeled]):.2f}",
                len(wrong),
                *answers,
            ]
        )
        images.append(f"![{Path(path).name}: {t}→{p}](_static/{name})")
        print(f"{path}: {t}→{p}: {count}", flush=True)
    body = (
        f"MNIST, {args.n_labeled} labels (draw `seed`). For each fitted model, "
        "the largest group of unlabeled training images of one digit that "
        "`transduction_` gives another digit, and pictures of it: first row, "
        "the labeled images of the true digit; second, images of the group; "
        "third, images of the same digit the model got right. A diagnostic, "
        "not a method of the library; the model files come from `--save` of "
        "the accuracy benchmarks (their runs are in those sections). The "
        "oracles: the default CNN without pseudo-labels (`alpha_f=0`, "
        f"{args.oracle_epochs} epochs) trained on "
        + (f"{args.oracle_images:,}" if args.oracle_images else "all the")
        + " training images with their true labels, except the "
        "unlabeled images of the digit that the model got wrong; then asked "
        "about those images. Their labeled view: the weak `RandomDistortion` "
        "alone, or with a random horizontal stroke on half of the images "
        "(`stroke_probability=0.5`, what `augmenter='auto'` draws).\n\n"
        + table(
            [
                "model file",
                "draw",
                "group (true→labelled)",
                "images",
                "share of the digit's unlabeled images (%)",
                "unlabeled-row error (%)",
                "the digit's wrong unlabeled images",
                *[
                    f"oracle ({view}): {what}"
                    for view in ORACLE_VIEWS
                    for what in (
                        "calls them the digit (%)",
                        "its labels for them",
                        "test error (%)",
                    )
                ],
            ],
            lines,
        )
        + "\n\n"
        + "\n\n".join(images)
    )
    write_section("captures", "The groups the bad draws lose", body)


if __name__ == "__main__":
    main()
