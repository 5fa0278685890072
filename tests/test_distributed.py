"""One fit on two processes (torchrun, gloo): the same model on every rank."""

import os
import pickle
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import joblib
import numpy as np
import pytest

from sklearn_pseudolabel import PseudoLabelCNNClassifier

ROOT = Path(__file__).resolve().parents[1]

PARAMS = dict(
    channels=(16, 32, 32),
    max_epochs=30,
    student_epochs=2,
    batch_size=32,
    batch_size_unlabeled=64,
    precision="float32",
)

#: The fit each rank runs: ``OUT KILL PARAMS``; KILL is ``none``,
#: ``raise:RANK:EPOCH`` (an error on one rank) or ``kill:RANK:EPOCH``
#: (SIGKILL); PARAMS the estimator's parameters, pickled as hex.
SCRIPT = textwrap.dedent(
    """
    import os, pickle, signal, sys
    from datetime import timedelta
    import joblib, numpy as np, torch, torch.distributed as dist
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from skorch.callbacks import Callback
    from sklearn_pseudolabel import PseudoLabelCNNClassifier, hide_labels

    dist.init_process_group("gloo", timeout=timedelta(seconds=60))
    rank = dist.get_rank()
    out, kill = sys.argv[1:3]
    params = pickle.loads(bytes.fromhex(sys.argv[3]))
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=0.3, stratify=y, random_state=0
    )
    y_partial = hide_labels(y_train, 100, random_state=0)

    class Fault(Callback):
        def on_epoch_begin(self, net, **kwargs):
            what, at_rank, at_epoch = (kill.split(":") + ["", "", ""])[:3]
            if what != "none" and rank == int(at_rank) and net.alpha_f:
                if len(net.history) == int(at_epoch):
                    if what == "kill":
                        os.kill(os.getpid(), signal.SIGKILL)
                    raise RuntimeError(f"a fault on rank {rank}")

    callbacks = None if kill == "none" else [Fault()]
    clf = PseudoLabelCNNClassifier(
        random_state=0, callbacks=callbacks, **params
    ).fit(X_train, y_partial)
    state = {k: v.numpy().tobytes() for k, v in clf.module_.state_dict().items()}
    with open(f"{out}.{rank}", "wb") as f:
        pickle.dump(
            dict(
                state=state,
                history=[
                    {k: v for k, v in row.items() if k not in ("batches", "dur")}
                    for row in clf.history_
                ],
                max_epochs=clf.max_epochs_,
                proba=clf.predict_proba(X_test),
                score=clf.score(X_test, y_test),
            ),
            f,
        )
    if rank == 0:
        joblib.dump(clf, f"{out}.joblib")
    dist.destroy_process_group()
    """
)


#: Two CPU processes on this machine, started by PyTorch's launcher.
TORCHRUN = [
    sys.executable,
    "-m",
    "torch.distributed.run",
    "--standalone",
    "--nproc_per_node=2",
]


def _torchrun(tmp_path, params=PARAMS, kill="none", timeout=240):
    script = tmp_path / "fit.py"
    script.write_text(SCRIPT)
    out = str(tmp_path / "out")
    command = [
        *TORCHRUN,
        str(script),
        out,
        kill,
        pickle.dumps(params).hex(),
    ]
    start = time.perf_counter()
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, cwd=tmp_path
    )
    return result, out, time.perf_counter() - start


def _load(out, rank):
    with open(f"{out}.{rank}", "rb") as f:
        return pickle.load(f)


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("ddp")
    result, out, _ = _torchrun(tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    return out, _load(out, 0), _load(out, 1)


def test_every_rank_ends_with_the_same_model(two_ranks):
    _, rank0, rank1 = two_ranks
    assert rank0["state"] == rank1["state"]
    np.testing.assert_array_equal(rank0["proba"], rank1["proba"])


def test_the_history_has_one_row_per_epoch_the_same_on_every_rank(two_ranks):
    _, rank0, rank1 = two_ranks
    assert len(rank0["history"]) == rank0["max_epochs"] == PARAMS["max_epochs"]
    np.testing.assert_equal(rank0["history"], rank1["history"])  # NaN == NaN
    assert [row["epoch"] for row in rank0["history"]] == list(range(1, 31))


def test_accuracy_is_within_the_spread_of_one_process(two_ranks, demo_split):
    _, rank0, _ = two_ranks
    X_train, y_partial, X_test, y_test = demo_split
    scores = [
        PseudoLabelCNNClassifier(random_state=seed, **PARAMS)
        .fit(X_train, y_partial)
        .score(X_test, y_test)
        for seed in range(3)
    ]
    spread = max(scores) - min(scores)
    assert min(scores) - spread <= rank0["score"] <= max(scores) + spread, scores


def test_the_fitted_estimator_predicts_in_one_process(two_ranks):
    out, rank0, _ = two_ranks
    clf = joblib.load(f"{out}.joblib")
    assert clf.net_.world_size == 2  # as it was trained; it predicts alone
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    _, X_test, _, _ = train_test_split(
        X / 16.0, y, test_size=0.3, stratify=y, random_state=0
    )
    np.testing.assert_array_equal(clf.predict_proba(X_test), rank0["proba"])


def test_an_error_on_one_rank_ends_every_rank(tmp_path):
    result, out, seconds = _torchrun(tmp_path, kill="raise:1:2", timeout=180)
    assert result.returncode != 0
    assert "a fault on rank 1" in result.stderr
    assert seconds < 120  # the launcher stops rank 0: no wait for a timeout
    assert not os.path.exists(f"{out}.0") and not os.path.exists(f"{out}.1")


def test_a_killed_distributed_fit_resumes_from_rank_0s_checkpoint(tmp_path):
    directory = tmp_path / "ckpt"
    params = dict(PARAMS, max_epochs=6, checkpoint_dir=str(directory))
    full, out, _ = _torchrun(tmp_path, params)
    assert full.returncode == 0, full.stderr[-4000:]
    expected = [_load(out, rank)["state"] for rank in (0, 1)]
    killed, _, _ = _torchrun(tmp_path, params, kill="kill:0:3")
    assert killed.returncode != 0
    assert (directory / "checkpoint.pt").exists()
    resumed, out, _ = _torchrun(tmp_path, params)
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    assert [_load(out, rank)["state"] for rank in (0, 1)] == expected
    assert not (directory / "checkpoint.pt").exists()


def test_the_documented_launch_script_runs_as_written(tmp_path):
    script = ROOT / "examples" / "fit_distributed.py"
    result = subprocess.run(
        [*TORCHRUN, str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    clf = joblib.load(tmp_path / "model.joblib")  # written by rank 0 alone
    assert clf.history_[-1, "alpha"] > 0 and len(clf.transduction_) == 1797
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    assert clf.score(X / 16.0, y) > 0.9
