"""Sphinx configuration for sklearn-pseudolabel."""

import os
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

import sklearn_pseudolabel  # noqa: E402

project = "sklearn-pseudolabel"
author = "sklearn-pseudolabel developers"
copyright = "2026, sklearn-pseudolabel developers"
version = release = sklearn_pseudolabel.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    # MathJax bundled into the built site, so that formulas render offline.
    "sphinx-mathjax-offline",
    "matplotlib.sphinxext.plot_directive",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]
templates_path = ["_templates"]
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
myst_heading_anchors = 3
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False

html_theme = "pydata_sphinx_theme"
html_title = "sklearn-pseudolabel"
html_theme_options = {"navigation_with_keys": False}
# The pages are few and flat: no left sidebar, more room for the text.
html_sidebars = {"**": []}

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "reference_url": {"sklearn_pseudolabel": None},
    "show_memory": False,
    "within_subsection_order": "FileNameSortKey",
}

# Cross-links to the libraries' own docs when their inventories can be
# fetched; offline, the build goes on without them (and without warnings).
_INVENTORIES = {
    "python": "https://docs.python.org/3",
    "numpy": "https://numpy.org/doc/stable",
    "sklearn": "https://scikit-learn.org/stable",
    "skorch": "https://skorch.readthedocs.io/en/stable",
    "torch": "https://docs.pytorch.org/docs/stable",
    "torchvision": "https://docs.pytorch.org/vision/stable",
    "imblearn": "https://imbalanced-learn.org/stable",
}


def _reachable(url):
    if os.environ.get("SPHINX_OFFLINE"):
        return False
    try:
        with urllib.request.urlopen(f"{url}/objects.inv", timeout=3):
            return True
    except Exception:
        return False


intersphinx_mapping = {
    name: (url, None) for name, url in _INVENTORIES.items() if _reachable(url)
}
