"""Shared plumbing of the benchmark scripts: data location, machine, results.

Each script writes its own blocks of ``docs/benchmarks.md`` between
``<!-- BEGIN name -->`` and ``<!-- END name -->`` markers, with the command,
machine and commit that produced them, so that every number there comes from
a script run; nothing else is on the page.
"""

import json
import os
import platform
import re
import shlex
import subprocess
import sys
from pathlib import Path

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
    """Return the data home with ``mnist/mnist.npz``, or None for the default.

    ``$SKLEARN_PSEUDOLABEL_DATA`` when set; else the ``shared/data`` folder
    beside the repository, where the project keeps its copy, if it exists;
    else None: ``fetch_mnist``'s own default (scikit-learn's data folder).
    """
    home = os.environ.get("SKLEARN_PSEUDOLABEL_DATA")
    if home:
        return home
    shared = ROOT.parent / "shared" / "data"
    return str(shared) if (shared / "mnist" / "mnist.npz").is_file() else None


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
    """Return the CPU's model name and its bfloat16 instructions.

    Says whether it has AMX tiles, and names AVX512-BF16 where present: a
    fit's ``precision="auto"`` and its speed depend on them. Read from
    Linux's /proc/cpuinfo; elsewhere, the architecture.
    """
    try:
        with open("/proc/cpuinfo") as f:
            info = dict(line.split(":", 1) for line in f if ":" in line)
    except OSError:
        return platform.processor() or platform.machine()
    info = {key.strip(): value.strip() for key, value in info.items()}
    flags = info.get("flags", "").split()
    name = info.get("model name", platform.machine())
    model = f"{name}, {'with' if 'amx_tile' in flags else 'without'} AMX"
    return model + (", with AVX512-BF16" if "avx512_bf16" in flags else "")


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
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with Path(path).open("a") as f:
        f.write(json.dumps(row) + "\n")
    return row


def read_log(path):
    """Return the runs of the JSON-lines log ``path`` (none if it is absent)."""
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


#: The page's blocks, in the order a reader looks for them: accuracy, then
#: time, then speed and memory. A script writes only its own blocks.
ORDER = (
    "about",
    "accuracy",
    "ablation",
    "demo",
    "small",
    "reference",
    "fit-time",
    "fit-time-cuda",
    "checkpoint",
    "speed",
    "speed-cuda",
    "scaling",
    "augment-throughput",
    "augment-throughput-cuda",
    "augment-memory",
)

#: The block every run rewrites: what the page is.
ABOUT = """Every number on this page was written by a script in `benchmarks/`, from
its runs, with the command, machine and commit shown in its block; rerun the
command to refresh the block. MNIST is read by `fetch_mnist`, from
`$SKLEARN_PSEUDOLABEL_DATA/mnist/` when that variable is set, else from its
`data_home` (scikit-learn's data folder by default)."""


def write_section(name, title, body, device="cpu", where=None):
    """Replace (or add, in :data:`ORDER`) block ``name`` of docs/benchmarks.md.

    The block's machine line is this process's (:func:`machine`), or
    ``where`` for a block written from the logs of runs made elsewhere.
    """
    if name not in ORDER:
        raise ValueError(f"block {name!r} is not one of {ORDER}")
    blocks = _read_blocks()
    blocks["about"] = _block("about", None, ABOUT)
    blocks[name] = _block(
        name,
        title,
        f"Command: `{command()}`\n\n"
        f"Machine: {where or machine(device)}\n\n{body.strip()}",
    )
    page = "# Benchmarks\n\n" + "\n\n".join(
        blocks[key] for key in ORDER if key in blocks
    )
    RESULTS.write_text(page + "\n")
    print(blocks[name])


def _block(name, title, body):
    heading = f"## {title}\n\n" if title else ""
    return f"<!-- BEGIN {name} -->\n{heading}{body}\n<!-- END {name} -->"


def _read_blocks():
    """Return the page's blocks, by name."""
    text = RESULTS.read_text() if RESULTS.exists() else ""
    pattern = re.compile(r"<!-- BEGIN (\S+) -->.*?<!-- END \1 -->", re.S)
    return {m.group(1): m.group(0) for m in pattern.finditer(text)}


def table(header, rows):
    """Format rows as a markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
