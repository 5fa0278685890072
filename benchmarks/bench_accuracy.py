"""Accuracy against the number of labels: MNIST, the defaults, fresh label draws.

All 60,000 official training images, ``n`` of them labeled
(``hide_labels(y, n, random_state=draw)``, balanced: n / 10 per digit), the
others -1; ``PseudoLabelCNNClassifier(random_state=draw)`` with nothing else
set; the test error on the official 10,000 test images, which each fit
touches once.

``--split validation`` is the protocol for choosing settings: the last
10,000 training images, labelled, are held out of the training pool and
score the fit; the test images are not read.

``--seeds`` fits each draw again with other ``random_state`` values and the
same labels: the spread of one draw over seeds is the noise floor against
which a change is read. A run whose seed is not its draw is listed beside
its draw and never pooled with the draws.

Every run is one line of ``benchmarks/results/accuracy.jsonl``: the draw, the
error, the confusion matrices of the evaluated images and of the unlabeled
rows' final labels, the fit's minutes and how busy the other processes kept
the CPU during it (a fit that shared the cores has no valid minutes), the
resolved configuration and its hash, the command and the commit. The report
writes the block "accuracy" from the test-split runs and the block
"ablation" from the validation-split runs, pooling the runs of one
configuration hash and one precision:

    .venv/bin/python benchmarks/bench_accuracy.py --n-labeled 100 --draws 100 101
    .venv/bin/python benchmarks/bench_accuracy.py --report-only
"""

import argparse
import ast
import hashlib
import itertools
import json
import os
import re
import time

import numpy as np
from _audit import PseudoLabelAudit, audit_summary
from _report import (
    ROOT,
    commit,
    cpu_model,
    log_run,
    mnist_home,
    read_log,
    table,
    write_section,
)
from sklearn.metrics import confusion_matrix

import sklearn_pseudolabel
from sklearn_pseudolabel import PseudoLabelCNNClassifier, fetch_mnist, hide_labels

LOG = ROOT / "benchmarks" / "results" / "accuracy.jsonl"

#: The label draws that chose the defaults of the log's first runs (on the
#: test set, before the validation protocol existed): never reported as fresh.
TUNING_DRAWS = tuple(range(5))

#: Training images held out, labelled, by ``--split validation``.
N_VALIDATION = 10_000

#: Test error targets (%), by number of labels: of the mean over draws ...
TARGETS = {100: 1.0, 250: 0.75, 600: 0.8, 1000: 0.7, 3000: 0.6}
#: ... and of every draw.
DRAW_TARGETS = {100: 1.1, 250: 1.0}
#: Minutes a fit may take.
MINUTES_TARGET = 20

#: Published MNIST test errors (%): method -> {labels: (mean, std or None)}.
#: Mean ± std over the authors' label draws, as their papers report them.
PUBLISHED = {
    "Lee (2013), dropNN + PL + DAE (MLP)": {
        100: (10.49, None),
        600: (4.01, None),
        1000: (3.46, None),
        3000: (2.69, None),
    },
    "Ladder, conv-small Γ (Rasmus et al., 2015)": {100: (0.89, 0.50)},
    "Improved GAN (Salimans et al., 2016)": {100: (0.93, 0.07)},
    "Bad GAN (Dai et al., 2017)": {100: (0.80, 0.10)},
}


def _cpu_jiffies():
    """Return the busy jiffies of all CPUs, from /proc/stat (None elsewhere)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return None
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields[:8]) - idle


def _other_load(busy_before, busy_after, own_seconds, seconds):
    """Share of the CPUs that other processes kept busy during a fit."""
    if busy_before is None:
        return None
    busy = (busy_after - busy_before) / os.sysconf("SC_CLK_TCK")
    return round(max(busy - own_seconds, 0.0) / (seconds * os.cpu_count()), 3)


#: The classifier's parameters and their defaults.
DEFAULTS = PseudoLabelCNNClassifier().get_params(deep=False)

#: The defaults that have changed since the log began, with their former
#: values. A record's parameters are those that differ from the defaults of
#: the log's first runs (``BASELINE``), so a configuration keeps its hash
#: when a default changes; its row is named by what differs from today's.
FORMER_DEFAULTS = {"augmenter_unlabeled": None}
BASELINE = dict(DEFAULTS, **FORMER_DEFAULTS)


def resolved_configuration(clf):
    """Return the parameters set against ``BASELINE`` and what ``clf`` resolved."""
    params = clf.get_params(deep=False)
    changed = {
        k: repr(v)
        for k, v in params.items()
        # The audit of validation runs observes and changes nothing.
        if k not in ("random_state", "verbose", "callbacks")
        and repr(v) != repr(BASELINE[k])
    }
    plan = {k: _resolved(clf, k) for k in PLAN_FIELDS}
    if clf.augmenter_unlabeled_ is not None:
        # Recorded only with a view: without one it changes nothing, and
        # those configurations keep the hashes they had before the setting.
        plan["unlabeled_view_start"] = clf.unlabeled_view_start_
    return {"params": changed, "plan": plan}


#: What a fit resolved, as fitted attributes (``<name>_``).
PLAN_FIELDS = (
    "max_epochs",
    "T1",
    "T2",
    "student_epochs",
    "student_rounds",
    "student_channels",
    "augmenter",
    "augmenter_unlabeled",
    "test_time_augmentation",
    "precision",
)


def _resolved(clf, name):
    """Return the fitted value of ``name`` (a repr unless plain data)."""
    value = getattr(clf, name + "_")
    if isinstance(value, tuple):
        value = list(value)
    if value is None or isinstance(value, (bool, int, float, str, list)):
        return value
    return _one_line(repr(value))


def _one_line(text):
    """Return ``text`` with each run of whitespace as one space.

    An estimator's repr wraps lines; a table cell holds one.
    """
    return " ".join(text.split())


def _stage_minutes(clf, seconds):
    """Return the minutes of each stage's epochs, and of the rest of the fit."""
    stages = [clf.history_] + list(clf.student_histories_)
    minutes = [sum(h[:, "dur"]) / 60 for h in stages]
    return [round(m, 2) for m in [*minutes, seconds / 60 - sum(minutes)]]


def config_hash(config):
    """Short hash of a resolved configuration."""
    text = json.dumps(config, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def run_one(X, y, X_eval, y_eval, n_labeled, draw, params, audit=False, seed=None):
    """Fit on draw ``draw`` of ``n_labeled`` labels; return the run's record.

    ``audit``: also record, per epoch, the pseudo-labels' worth against the
    truth (:class:`PseudoLabelAudit`), for the runs that choose settings.
    ``seed``: the classifier's ``random_state``; None is ``draw``.
    """
    seed = draw if seed is None else seed
    y_partial = hide_labels(y, n_labeled, random_state=draw)
    unlabeled = y_partial == -1
    if audit:
        params = dict(params, callbacks=[PseudoLabelAudit(y[unlabeled])])
    clf = PseudoLabelCNNClassifier(random_state=seed, **params)
    busy = _cpu_jiffies()
    own = time.process_time()
    start = time.perf_counter()
    clf.fit(X, y_partial)
    seconds = time.perf_counter() - start
    load = _other_load(busy, _cpu_jiffies(), time.process_time() - own, seconds)
    predicted = clf.predict(X_eval)
    config = resolved_configuration(clf)
    record = dict(
        n_labeled=n_labeled,
        draw=draw,
        seed=seed,
        error=round(100 * float(np.mean(predicted != y_eval)), 3),
        transduction_error=round(
            100 * float(np.mean(clf.transduction_[unlabeled] != y[unlabeled])), 3
        ),
        confusion=confusion_matrix(y_eval, predicted).tolist(),
        # Where the unlabeled rows' final labels go wrong, by true class.
        transduction_confusion=confusion_matrix(
            y[unlabeled], clf.transduction_[unlabeled]
        ).tolist(),
        fit_minutes=round(seconds / 60, 2),
        # Where the minutes went: the Pseudo-Label epochs, each student's
        # epochs, and the rest (the students' labels, transduction, setup).
        stage_minutes=_stage_minutes(clf, seconds),
        other_load=load,
        precision=config["plan"]["precision"],
        cpu=f"{os.cpu_count()} cores, {cpu_model()}",
        config=config,
        config_hash=config_hash(config),
    )
    if audit:
        record["audit"] = audit_summary(clf.history_)
    return record


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-labeled", type=int, nargs="+", default=[100])
    parser.add_argument("--draws", type=int, nargs="+", default=[100])
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[None],
        help="the classifier's random_state for each draw (default: the draw)",
    )
    parser.add_argument("--split", choices=["test", "validation"], default="test")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--set",
        metavar="KEY=VALUE",
        nargs="+",
        default=[],
        type=_override,
        help="a parameter other than its default: a Python literal, or a public "
        "class of the library called with literal keywords",
    )
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    if not args.report_only:
        if args.split == "test" and set(args.draws) & set(TUNING_DRAWS):
            parser.error(f"draws {TUNING_DRAWS} tuned the defaults: not fresh")
        if args.split == "test" and args.seeds != [None]:
            parser.error("--seeds refits a draw: the test set is touched once per draw")
        X, y = fetch_mnist(data_home=mnist_home(), return_X_y=True)
        if args.split == "test":
            X_eval, y_eval = fetch_mnist(
                subset="test", data_home=mnist_home(), return_X_y=True
            )
        else:
            X, X_eval = X[:-N_VALIDATION], X[-N_VALIDATION:]
            y, y_eval = y[:-N_VALIDATION], y[-N_VALIDATION:]
        params = dict(args.set, device=args.device)
        audit = args.split == "validation"
        for n, draw, seed in itertools.product(args.n_labeled, args.draws, args.seeds):
            run = run_one(X, y, X_eval, y_eval, n, draw, params, audit, seed)
            log_run(LOG, dict(split=args.split, **run))
            print(
                f"{n} labels, draw {draw}, seed {run['seed']} ({args.split}): "
                f"{run['error']:.2f} % in {run['fit_minutes']:.1f} min "
                f"(other load {run['other_load']})",
                flush=True,
            )
    report()


def _override(text):
    """``"key=value"`` -> ``(key, value)``.

    The value is a Python literal, or a call of one of the library's public
    classes with literal keyword arguments, such as
    ``augmenter=RandomDistortion(max_rotation=10.0,stroke_probability=0.0)``.
    """
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    node = ast.parse(value, mode="eval").body
    if not isinstance(node, ast.Call):
        return key, ast.literal_eval(node)
    name = getattr(node.func, "id", None)
    cls = getattr(sklearn_pseudolabel, name, None) if name else None
    public = name in sklearn_pseudolabel.__all__ and isinstance(cls, type)
    if not public or node.args or any(kw.arg is None for kw in node.keywords):
        raise argparse.ArgumentTypeError(
            f"{value!r}: only a public class of sklearn_pseudolabel, called "
            "with keyword arguments, or a literal"
        )
    kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords}
    return key, cls(**kwargs)


#: A fit's minutes count when other processes used less than this share of
#: the CPUs during it.
CLEAN_LOAD = 0.05


def _summary(values, digits=2):
    """``mean ± sample std (n)``; one value as itself."""
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.{digits}f} (n=1)"
    return (
        f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f} "
        f"(n={len(values)})"
    )


def _groups(runs):
    """``{(config hash, precision): runs}``, in order of appearance."""
    groups = {}
    for r in runs:
        groups.setdefault((r["config_hash"], r["precision"]), []).append(r)
    return groups


def _name(group):
    """Return the row's name: what its configuration sets, hash, precision.

    A parameter that the library no longer has (built for a screen, then
    taken out) is marked with the commits that ran it; so is an unlabeled
    view that started at the first epoch, from before
    ``unlabeled_view_start``.
    """
    run = group[0]
    config = run["config"]
    params = ", ".join(f"{k}={_one_line(v)}" for k, v in _shown(config).items())
    name = f"{params or 'defaults'} (`{run['config_hash']}`, {run['precision']})"
    gone = _gone(config["params"])
    if gone:
        name += f" [{', '.join(gone)}: at {_commits(group)} only, since removed]"
    if _view_from_first_epoch(config):
        name += (
            f" [view from the first epoch: at {_commits(group)}, before "
            "unlabeled_view_start]"
        )
    return name


def _shown(config):
    """Return the parameters of ``config`` that differ from today's defaults.

    ``config["params"]`` are those that differ from ``BASELINE``. A view of
    the unlabeled images recorded without ``unlabeled_view_start`` ran before
    that parameter: from the first epoch.
    """
    params = dict(config["params"])
    for key, value in FORMER_DEFAULTS.items():
        params.setdefault(key, repr(value))
    if _view_from_first_epoch(config):
        params["unlabeled_view_start"] = "0"
    return {
        k: v for k, v in params.items() if k not in DEFAULTS or v != repr(DEFAULTS[k])
    }


def _view_from_first_epoch(config):
    """Whether ``config`` ran an unlabeled view before ``unlabeled_view_start``.

    Such a run records the view but no first epoch: its view began at 0.
    """
    return config["plan"]["augmenter_unlabeled"] is not None and not (
        "unlabeled_view_start" in config["plan"]
        or "unlabeled_view_start" in config["params"]
    )


def _gone(params):
    """Return the names in ``params`` that the library no longer has, sorted.

    ``params`` maps the classifier's parameters to the reprs of their values.
    A name is a parameter of the classifier, or ``<parameter>__<keyword>``
    for a keyword of one of the library's estimators in a value, as in
    ``augmenter=RandomDistortion(...)``.
    """
    gone = set(params) - set(DEFAULTS)
    for key, value in params.items():
        call = re.fullmatch(r"(\w+)\((.*)\)", _one_line(value))
        cls = getattr(sklearn_pseudolabel, call[1], None) if call else None
        if isinstance(cls, type) and hasattr(cls, "_get_param_names"):
            keywords = set(re.findall(r"(\w+)=", call[2]))
            gone |= {f"{key}__{k}" for k in keywords - set(cls._get_param_names())}
    return sorted(gone)


def _commits(group):
    """Return the commits that ran the runs of ``group``, sorted, as text."""
    return ", ".join(sorted({r["commit"] for r in group}))


def _seed(run):
    """Return the ``random_state`` of ``run`` (its draw, unless set apart)."""
    return run.get("seed", run["draw"])


def _refit(run):
    """Whether ``run`` refitted its draw with another seed than the draw."""
    return _seed(run) != run["draw"]


def _draw_name(run):
    """Return ``"2"``, or ``"2 (seed 7)"`` for a run refitted with another seed."""
    return str(run["draw"]) + (f" (seed {_seed(run)})" if _refit(run) else "")


def _tables(runs, counts, digits=2):
    """Return the tables of errors, draws and clean fit minutes of ``runs``.

    The errors pool one run per draw, the one whose seed is its draw; the
    table of draws lists every run.
    """
    header = _header(counts)
    errors, draws, minutes = [], [], []
    for group in _groups(runs).values():
        name = _name(group)
        by_n = dict(zip(counts, _by_count(group, counts)))
        errors.append(
            [name]
            + [
                _summary([r["error"] for r in by_n[n] if not _refit(r)], digits)
                for n in counts
            ]
        )
        draws.append(
            [name]
            + [
                ", ".join(f"{_draw_name(r)}: {r['error']:.2f}" for r in by_n[n]) or "–"
                for n in counts
            ]
        )
        clean = {n: [r["fit_minutes"] for r in by_n[n] if _clean(r)] for n in counts}
        minutes.append([name] + [_summary(clean[n], 1) for n in counts])
    return header, errors, draws, minutes


def _configurations(runs):
    """Return one line per configuration: what it resolved to, at which commits."""
    lines = []
    for group in _groups(runs).values():
        run = group[0]
        cpus = "; ".join(sorted({r["cpu"] for r in group}))
        plan = json.dumps(run["config"]["plan"], sort_keys=True)
        lines.append(
            f"- `{run['config_hash']}` ({run['precision']}): resolved on MNIST "
            f"to `{plan}`; commit(s) {_commits(group)}; CPU {cpus}"
        )
    return "\n".join(lines)


def _header(counts):
    """Return the header of a table with a column per label count."""
    return ["configuration"] + [f"{n} labels" for n in counts]


def _count_table(runs, counts, cell):
    """Return a table of one row per configuration and one cell per label count.

    ``cell(runs)`` makes a cell from a configuration's runs at one label
    count (at least one run), or returns None when they have nothing to show
    ("–"). A configuration with nothing to show at any count has no row; no
    row at all gives "".
    """
    rows = []
    for group in _groups(runs).values():
        cells = [cell(at_n) if at_n else None for at_n in _by_count(group, counts)]
        if any(c is not None for c in cells):
            rows.append([_name(group)] + ["–" if c is None else c for c in cells])
    return table(_header(counts), rows) if rows else ""


def _by_count(runs, counts):
    """Return the runs of each label count of ``counts``, in order."""
    return [[r for r in runs if r["n_labeled"] == n] for n in counts]


def _seed_cell(runs):
    """Return the errors of each draw fitted with several seeds, own seed first."""
    by_draw = {}
    for r in sorted(runs, key=lambda r: (_refit(r), _seed(r))):
        by_draw.setdefault(r["draw"], []).append(r["error"])
    return (
        "; ".join(
            f"draw {draw}: "
            + ", ".join(f"{e:.2f}" for e in errs)
            + f" (range {max(errs) - min(errs):.2f})"
            for draw, errs in by_draw.items()
            if len(errs) > 1
        )
        or None
    )


def _seed_table(runs, counts):
    """Return the table of the draws fitted with several seeds, or ""."""
    body = _count_table(runs, counts, _seed_cell)
    return body and (
        "\n\nThe noise floor: draws fitted again with other seeds "
        "(`random_state`), the labels unchanged. Error (%) of each seed, the "
        "draw's own seed first:\n\n" + body
    )


def _confusion_cell(runs, top=3):
    """Return the ``top`` largest confusions, ``true→predicted mean count per run``."""
    errors = np.sum([r["confusion"] for r in runs], axis=0) / len(runs)
    np.fill_diagonal(errors, 0)
    largest = np.argsort(errors, axis=None)[::-1][:top]
    true, predicted = np.unravel_index(largest, errors.shape)
    pairs = ", ".join(f"{t}→{p} {errors[t, p]:.1f}" for t, p in zip(true, predicted))
    return f"{pairs} (n={len(runs)})"


def _confusion_table(runs, counts):
    """Return the table of each configuration's largest confusions, or ""."""
    body = _count_table(runs, counts, _confusion_cell)
    return body and (
        "\n\nWhere the errors are: the largest confusions of the evaluated "
        "images (`true→predicted`, mean count per run over the runs of the "
        "row; every run of the row, seeds included):\n\n" + body
    )


def _target_cell(n):
    """Return the targets at ``n`` labels, as a table cell."""
    if n not in TARGETS:
        return "–"
    each = f", each draw ≤ {DRAW_TARGETS[n]:.2f}" if n in DRAW_TARGETS else ""
    return f"mean ≤ {TARGETS[n]:.2f}{each}"


def _clean(run):
    """Whether ``run`` had the CPU to itself (its minutes count)."""
    return run["other_load"] is not None and run["other_load"] < CLEAN_LOAD


def _misses(name, n, runs):
    """Say which targets the runs of configuration ``name`` at ``n`` labels miss."""
    if not runs:
        return []
    where = f"{name} at {n} labels"
    errors = [r["error"] for r in runs]
    misses = []
    if n in TARGETS and np.mean(errors) > TARGETS[n]:
        misses.append(
            f"{where}: mean {np.mean(errors):.2f} % against a target of "
            f"{TARGETS[n]:.2f} %"
        )
    over = [r for r in runs if n in DRAW_TARGETS and r["error"] > DRAW_TARGETS[n]]
    if over:
        listed = ", ".join(f"{_draw_name(r)} ({r['error']:.2f})" for r in over)
        misses.append(
            f"{where}: draws {listed} above the target of {DRAW_TARGETS[n]:.2f} % "
            "for every draw"
        )
    clean = [r for r in runs if _clean(r)]
    slow = [r for r in clean if r["fit_minutes"] > MINUTES_TARGET]
    if slow:
        misses.append(
            f"{where}: {len(slow)} of {len(clean)} fits that had the CPU to "
            f"themselves over {MINUTES_TARGET} minutes"
        )
    return misses


def _verdict(runs, missed):
    """Say which targets the runs miss."""
    if not runs:
        return "\n\nNo run yet."
    if missed:
        return "\n\nMissed targets: " + "; ".join(missed) + "."
    return "\n\nThe label counts run meet their targets."


def _audit_cell(runs):
    """Return the kept / kept-and-wrong shares of the last epoch, or None."""
    last = [r["audit"][-1] for r in runs if r.get("audit")]
    if not last:
        return None
    kept = np.mean([a["kept"] for a in last])
    wrong = np.mean([a["kept"] * (1 - a["kept_accuracy"]) for a in last])
    return f"{100 * kept:.1f} / {100 * wrong:.2f} (n={len(last)})"


def _audit_table(runs, counts):
    """Return the table of the pseudo-labels' worth at the last epoch, or ""."""
    body = _count_table(runs, counts, _audit_cell)
    return body and (
        "\n\nPseudo-labels in the last Pseudo-Label epoch, against the truth of "
        "the unlabeled rows: the share of the unlabeled images whose "
        "pseudo-label the mask kept / the share kept and wrong (%), mean over "
        "runs (n runs):\n\n" + body
    )


def _commands(runs):
    """Return the commands that made ``runs``, as a list."""
    commands = sorted({r["command"] for r in runs})
    return "\n".join(f"- `{c}`" for c in commands)


def report():
    """Rebuild the ``accuracy`` and ``ablation`` blocks from the log."""
    runs = read_log(LOG)
    # The runs' machines differ: each configuration names its CPUs.
    where = f"the CPU of each configuration's runs, below; report at commit {commit()}"
    test = [r for r in runs if r["split"] == "test"]
    counts = sorted({r["n_labeled"] for r in test} | set(TARGETS))
    header, errors, draws, minutes = _tables(test, counts)
    targets = [["target"] + [_target_cell(n) for n in counts]]
    published = [
        [f"published: {name}"]
        + [
            "–"
            if n not in row
            else f"{row[n][0]:.2f}" + (f" ± {row[n][1]:.2f}" if row[n][1] else "")
            for n in counts
        ]
        for name, row in PUBLISHED.items()
    ]
    missed = [
        miss
        for group in _groups(test).values()
        for n in counts
        for miss in _misses(_name(group), n, [r for r in group if r["n_labeled"] == n])
    ]
    body = (
        "Test error (%) on the official 10,000 MNIST test images, mean ± sample "
        "standard deviation over label draws (n draws):\n\n"
        + table(header, errors + targets + published)
        + _verdict(test, missed)
        + "\n\nEach draw (`draw: test error %`):\n\n"
        + table(header, draws)
        + "\n\nFit minutes, from the fits that had the CPU to themselves "
        f"(other processes below {CLEAN_LOAD:.0%} of it; a dash: none did):\n\n"
        + table(header, minutes)
        + "\n\nConfigurations (a row pools the runs of one hash and one "
        "precision):\n\n"
        + _configurations(test)
        + "\n\nThe runs' commands:\n\n"
        + _commands(test)
        + "\n\nAll 60,000 training images, `n` labeled "
        "(`hide_labels(y, n, random_state=draw)`, n / 10 per digit), the rest "
        "-1, and `random_state=draw`. A draw's labels at a smaller `n` are among "
        "its labels at a larger one (`hide_labels` draws are nested), so a draw's "
        "columns add labels to the same images. Draws "
        + ", ".join(map(str, TUNING_DRAWS))
        + " chose the defaults of the log's first runs, on this same test set: "
        "they are never reported here. What changed since ("
        + ", ".join(f"`{k}`" for k in FORMER_DEFAULTS)
        + ") was chosen on validation draws (the ablation block) and then "
        "measured here on fresh draws. Every draw above was fitted once per "
        "configuration, after the configuration was fixed, and touched the "
        "test set once. A bfloat16 row is a configuration at the precision that "
        "`precision='auto'` gives on CPUs with AMX; it repeats the float32 "
        "rows' draws, so that the two precisions compare on the same labels, "
        "and chose no setting. Published rows are the authors' own figures "
        "(their networks and protocols), not rerun here."
    )
    write_section(
        "accuracy", "Accuracy against the number of labels (MNIST)", body, where=where
    )
    validation = [r for r in runs if r["split"] == "validation"]
    counts = sorted({r["n_labeled"] for r in validation})
    header, errors, draws, minutes = _tables(validation, counts)
    body = (
        "Validation error (%) of the defaults and of changes to them: the "
        f"last {N_VALIDATION:,} of the 60,000 training images, labelled, are "
        "held out of the training pool and score each fit; the test set is "
        "not read. Mean ± sample standard deviation over label draws, one run "
        "per draw (`random_state=draw`):\n\n"
        + (table(header, errors) if validation else "No run yet.")
        + (
            "\n\nEach run (`draw: error %`; a refit with another seed says "
            "so):\n\n"
            + table(header, draws)
            + _seed_table(validation, counts)
            + _confusion_table(validation, counts)
            + _audit_table(validation, counts)
            + "\n\nConfigurations:\n\n"
            + _configurations(validation)
            + "\n\nThe runs' commands:\n\n"
            + _commands(validation)
            if validation
            else ""
        )
    )
    write_section(
        "ablation", "What each setting does, on validation (MNIST)", body, where=where
    )


if __name__ == "__main__":
    main()
