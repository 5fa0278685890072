"""The documentation builds, gallery included, with warnings as errors."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.skipif(
    shutil.which("sphinx-build") is None
    and not (Path(sys.executable).parent / "sphinx-build").exists(),
    reason="sphinx is not installed (extra 'docs')",
)
def test_docs_build_without_warnings(tmp_path):
    pytest.importorskip("sphinx_gallery")
    out = tmp_path / "html"
    env = dict(os.environ, SPHINX_OFFLINE="1", MPLBACKEND="Agg")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-b",
            "html",
            "-W",
            "--keep-going",
            "-q",
            str(DOCS),
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=1500,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    index = (out / "index.html").read_text()
    assert "sklearn-pseudolabel" in index
    api = (out / "api.html").read_text()
    import sklearn_pseudolabel
    import sklearn_pseudolabel.model_selection as ms
    import sklearn_pseudolabel.parts as parts

    for name in [*sklearn_pseudolabel.__all__, *ms.__all__, *parts.__all__]:
        assert name in api, f"{name} missing from the API reference"
    for example in (
        "plot_augmentation",
        "plot_compare_ssl",
        "plot_gridsearch_schedule",
        "plot_extending",
    ):
        assert (out / "auto_examples" / f"{example}.html").exists()
