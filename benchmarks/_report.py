"""Shared plumbing of the benchmark scripts: data location, machine, results.

Each script writes its own section of ``docs/benchmarks.md`` between
``<!-- BEGIN name -->`` and ``<!-- END name -->`` markers, with the command that
produced it, so that every number there comes from a script run.
"""

import argparse
import inspect
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "benchmarks.md"

#: The reference configuration (Lee 2013 as run by the 2017 report): the
#: estimator's defaults before the measured recipe replaced them. The user
#: guide shows the same dictionary.
REFERENCE = dict(
    alpha_f=3.0,
    T1=100,
    T2=600,
    max_epochs=600,
    refresh="epoch",
    mask="fixed",
    threshold=None,
    ema_decay=None,
    batch_size=128,
    batch_size_unlabeled=64,
    lr=0.01,
    lr_decay=0.998,
    momentum=0.9,
    nesterov=False,
    weight_decay=0.0,
    channels=(32, 64, 128),
    kernel_sizes=(5, 3, 2),
    dropout=0.5,
    batch_norm=False,
    hidden_units=0,
    augmenter=None,
    student_epochs=0,
)


def mnist_home():
    """Return the data home with ``mnist/`` ($SKLEARN_PSEUDOLABEL_DATA or default)."""
    return os.environ.get(
        "SKLEARN_PSEUDOLABEL_DATA", str(ROOT.parent / "shared" / "data")
    )


def _git(*args):
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()


# Read when the script starts, i.e. for the code being measured; results that
# earlier scripts wrote (docs/benchmarks.md, its figures, benchmarks/results/)
# do not count as code changes.
# $BENCH_COMMIT, where set, names the commit measured: on another machine
# the copy of the tree may carry a stale .git, or none.
_COMMIT = os.environ.get("BENCH_COMMIT") or _git("rev-parse", "--short", "HEAD")
_DIRTY = not os.environ.get("BENCH_COMMIT") and bool(
    _git(
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        ".",
        ":!docs/benchmarks.md",
        ":!docs/_static/*.png",
        ":!benchmarks/results",
    )
)


def run_worker(script, *args, env=None):
    """Run ``script`` with ``args`` in a fresh Python; return its last line as JSON.

    The benchmarks that must not share a process between variants (peak
    memory, compile caches, code versions) run each one this way.
    """
    out = subprocess.run(
        [sys.executable, str(Path(script).resolve()), *map(str, args)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def sync(device):
    """Wait for the device's queued work, so that a timer reads its end."""
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def cpu_model():
    """Return the CPU's model name and whether it has AMX tiles.

    A fit's ``precision="auto"`` and its speed depend on both. Read from
    Linux's /proc/cpuinfo; elsewhere, the architecture.
    """
    try:
        with open("/proc/cpuinfo") as f:
            info = dict(line.split(":", 1) for line in f if ":" in line)
    except OSError:
        return platform.processor() or platform.machine()
    info = {key.strip(): value.strip() for key, value in info.items()}
    amx = "amx_tile" in info.get("flags", "").split()
    name = info.get("model name", platform.machine())
    return f"{name}, {'with' if amx else 'without'} AMX"


def machine(device="cpu"):
    """One line describing where the numbers were measured."""
    where = f"{os.cpu_count()} CPU cores ({cpu_model()})"
    if str(device).startswith("cuda") and torch.cuda.is_available():
        where += f", GPU {torch.cuda.get_device_name()}"
    return (
        f"{where}; torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"commit {commit()}"
    )


def command():
    """Return the command line that ran this script, relative to the repository."""
    script = Path(sys.argv[0]).resolve().relative_to(ROOT)
    return shlex.join([".venv/bin/python", str(script), *sys.argv[1:]])


def commit():
    """Return the measured code's commit, marked when it had local changes."""
    return _COMMIT + ("+local changes" if _DIRTY else "")


def log_run(path, row):
    """Append one run to the JSON-lines log ``path``, with commit and command."""
    row = {**row, "commit": commit(), "command": command()}
    with Path(path).open("a") as f:
        f.write(json.dumps(row) + "\n")
    return row


def read_log(path):
    """Return the runs of the JSON-lines log ``path`` (none if it is absent)."""
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def error_percent(predicted, truth):
    """Percentage of ``predicted`` labels unlike ``truth``, to 3 decimals."""
    return round(100 * float(np.mean(predicted != truth)), 3)


def clean_test_error(clf, net, X_test, y_test):
    """Test error (%) of ``net``, one of ``clf``'s, on the clean images alone.

    No test-time augmentation: the network's own forward pass.
    """
    logits = net.predict_logits(clf._image_tensor(X_test))
    return error_percent(clf.classes_[logits.argmax(1).cpu()], y_test)


def fit_and_score(X, y, X_test, y_test, *, y_true=None, save_to=None, **params):
    """Fit ``PseudoLabelCNNClassifier(**params)``; return the run's record.

    The record: test error (%), fit minutes, epochs (the students' included;
    with students, ``student_rounds`` of ``student_epochs`` each), and per
    epoch the accuracy on the first 2,000 test images (``HeldOutAccuracy``,
    which follows training and chooses nothing: with students, the
    Pseudo-Label network's epochs then each student's), the fraction of
    pseudo-labels kept and the epoch's seconds; with a student, the
    Pseudo-Label network's own test error (``pseudo_label_test_error``); then
    the test confusion matrix (rows: true digit, columns: predicted) and,
    given the hidden labels ``y_true``, the error (%) of ``transduction_`` on
    the unlabeled rows; the precision of the forward passes
    (``precision="auto"`` resolved); with ``test_time_augmentation``, the test
    error of the clean images alone (``test_error_without_views``).
    ``save_to``: a file to pickle the fitted classifier into (for analyses
    after the run), or None.
    """
    from sklearn.metrics import confusion_matrix

    from sklearn_pseudolabel import PseudoLabelCNNClassifier
    from sklearn_pseudolabel.callbacks import HeldOutAccuracy

    clf = PseudoLabelCNNClassifier(
        callbacks=[HeldOutAccuracy(X_test[:2000], y_test[:2000])], **params
    )
    start = time.perf_counter()
    clf.fit(X, y)
    minutes = (time.perf_counter() - start) / 60
    # The precision the forward passes ran in ("auto" resolved).
    extra = {"precision": clf.net_.precision}
    if save_to is not None:
        joblib.dump(clf, save_to)
    histories = [clf.history_]

    student = getattr(clf, "student_net_", None)
    if student is not None:
        # getattr: one student, before student_rounds.
        students = getattr(clf, "student_histories_", [student.history])
        histories += students
        extra["student_epochs"] = len(student.history)
        extra["student_rounds"] = len(students)
        extra["pseudo_label_test_error"] = clean_test_error(
            clf, clf.net_, X_test, y_test
        )

    def per_epoch(key):
        return [value for history in histories for value in history[:, key]]

    if getattr(clf, "test_time_augmentation_", False):
        extra["test_error_without_views"] = clean_test_error(
            clf, clf._predicting_net, X_test, y_test
        )
    predicted = clf.predict(X_test)
    confusion = confusion_matrix(y_test, predicted, labels=clf.classes_)
    unlabeled = np.asarray(y) == -1
    if y_true is not None and unlabeled.any():
        extra["transduction_error"] = error_percent(
            clf.transduction_[unlabeled], y_true[unlabeled]
        )
    return dict(
        test_error=error_percent(predicted, y_test),
        fit_minutes=round(minutes, 2),
        epochs=sum(len(history) for history in histories),
        held_out_acc=[round(a, 4) for a in per_epoch("valid_acc")],
        kept=[
            round(k, 4) if k == k else None for k in per_epoch("pseudo_label_confident")
        ],
        epoch_seconds=[round(d, 2) for d in per_epoch("dur")],
        confusion=confusion.tolist(),
        **extra,
    )


def saved_models_parser():
    """Return the argument parser of a diagnostic of ``--save`` model files.

    ``--models`` (the files), ``--seeds`` (the label draw of each) and
    ``--n-labeled``; parse with :func:`parse_saved_models`.
    """
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", required=True)
    parser.add_argument(
        "--seeds", type=int, nargs="+", required=True, help="label draw per model"
    )
    parser.add_argument("--n-labeled", type=int, default=100)
    return parser


def parse_saved_models(parser):
    """Parse the command line; one seed per model file."""
    args = parser.parse_args()
    if len(args.seeds) != len(args.models):
        parser.error("give one --seeds value per model")
    return args


def load_one_student_fit(path, X, y, n_labeled, seed):
    """Load a saved fit with one student, with its MNIST training tensors.

    Return the classifier, ``X`` as its image tensor and the labels of draw
    ``seed`` (``n_labeled`` kept, the rest -1) as a tensor on its device.
    """
    from sklearn_pseudolabel import hide_labels

    clf = joblib.load(path)
    if len(getattr(clf, "student_histories_", [])) != 1:
        raise SystemExit(f"{path}: a fit with exactly one student is needed")
    # A fit saved before a parameter existed lacks it: it had its default.
    for name, parameter in inspect.signature(type(clf)).parameters.items():
        if not hasattr(clf, name):
            setattr(clf, name, parameter.default)
    X_train = clf._image_tensor(X)
    y_partial = hide_labels(y, n_labeled, random_state=seed)
    # MNIST's classes are 0-9: the encoded labels are the labels.
    return clf, X_train, torch.as_tensor(y_partial, device=X_train.device)


def proba_error(proba, classes, y_test):
    """Test error (%) of the labels that probabilities ``proba`` give."""
    return error_percent(classes[proba.argmax(1).cpu().numpy()], y_test)


def model_file(directory, name, n_labeled, seed):
    """Return where ``--save`` puts a run's fitted classifier (None: nowhere)."""
    if directory is None:
        return None
    Path(directory).mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")
    return Path(directory) / f"{slug}_{n_labeled}_{seed}.joblib"


def top_confusions(confusion, k=3):
    """Format the ``k`` largest off-diagonal counts as ``"true→predicted: n"``."""
    confusion = np.array(confusion)
    np.fill_diagonal(confusion, 0)
    order = np.argsort(confusion, axis=None)[::-1][:k]
    cells = [np.unravel_index(i, confusion.shape) for i in order]
    return ", ".join(f"{t}→{p}: {confusion[t, p]}" for t, p in cells if confusion[t, p])


def diagnostics_table(runs, columns, describe):
    """Return a paragraph and table of where the runs' errors are.

    For the runs that recorded them: the error of ``transduction_`` on the
    unlabeled training rows and the largest test confusions. ``columns``
    name the cells that ``describe(run)`` returns to identify a run; "" when
    no run recorded a confusion matrix.
    """
    rows = [
        describe(r)
        + [
            r["seed"],
            f"{r['test_error']:.2f}",
            f"{r['transduction_error']:.2f}" if "transduction_error" in r else "–",
            top_confusions(r["confusion"]),
        ]
        for r in runs
        if "confusion" in r
    ]
    if not rows:
        return ""
    return (
        "\n\nWhere the errors are, for the runs that recorded it: the error of "
        "the fitted model's labels for the unlabeled training images "
        "(`transduction_`, against their hidden labels) and the three largest "
        "confusions on the test set (true digit → predicted: test images).\n\n"
        + table(
            [
                *columns,
                "draw",
                "test error (%)",
                "unlabeled-row error (%)",
                "largest confusions",
            ],
            rows,
        )
    )


def mean_std(values, digits=2):
    """Format values as ``mean ± std`` (one value as itself, none as a dash)."""
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"


def write_section(name, title, body, device="cpu"):
    """Replace (or append) section ``name`` of docs/benchmarks.md."""
    section = (
        f"<!-- BEGIN {name} -->\n## {title}\n\n"
        f"Command: `{command()}`\n\nMachine: {machine(device)}\n\n{body.strip()}\n"
        f"<!-- END {name} -->"
    )
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmarks\n"
    pattern = re.compile(
        rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->", re.S
    )
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    RESULTS.write_text(text)
    print(section)


def commands_block(runs):
    """Format the distinct commands of ``runs`` as a markdown list, headed."""
    commands = sorted({r["command"] for r in runs})
    return "Commands:\n\n" + "\n".join(f"- `{c}`" for c in commands)


def table(header, rows):
    """Format rows as a markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
