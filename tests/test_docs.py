"""The documentation: it builds, reads well offline, and its examples run."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

#: The pages a reader opens first, checked in the browser.
PAGES = ("index", "quickstart", "user_guide", "api", "benchmarks")


@pytest.fixture(scope="module")
def html(tmp_path_factory):
    """The site, built with warnings as errors and no network."""
    pytest.importorskip("sphinx_gallery")
    out = tmp_path_factory.mktemp("docs") / "html"
    env = dict(os.environ, SPHINX_OFFLINE="1", MPLBACKEND="Agg")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q"]
        + [str(DOCS), str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=1500,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    return out


def test_docs_build_with_the_api_and_the_gallery(html):
    import sklearn_pseudolabel
    import sklearn_pseudolabel.model_selection as ms
    import sklearn_pseudolabel.parts as parts

    assert "sklearn-pseudolabel" in (html / "index.html").read_text()
    api = (html / "api.html").read_text()
    for name in [*sklearn_pseudolabel.__all__, *ms.__all__, *parts.__all__]:
        assert name in api, f"{name} missing from the API reference"
    for example in (
        "plot_augmentation",
        "plot_compare_ssl",
        "plot_gridsearch_schedule",
        "plot_extending",
    ):
        assert (html / "auto_examples" / f"{example}.html").exists()
    # The fitted attributes of the plan are documented.
    classifier = (
        html / "generated" / "sklearn_pseudolabel.PseudoLabelCNNClassifier.html"
    )
    for attribute in ("max_epochs_", "T2_", "student_rounds_", "precision_"):
        assert attribute in classifier.read_text()


def _text(path):
    """The visible text of an HTML page, roughly: tags and scripts dropped."""
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", path.read_text(), flags=re.S)
    return re.sub(r"<[^>]+>", " ", text)


def test_pages_speak_to_users(html):
    pages = [p for p in html.rglob("*.html") if "_static" not in p.parts]
    for page in pages:
        text = _text(page)
        assert not re.search(r"\bissues? \d+\b", text, re.I), page
        assert "../shared" not in text and "/work/" not in text, page
        assert "Added by hand" not in text, page


def test_the_results_page_leads_with_accuracy(html):
    headings = re.findall(r"<h2>(.*?)<a", (html / "benchmarks.html").read_text())
    assert headings and headings[0].startswith("Accuracy against the number of labels")


def test_the_results_page_is_generated_blocks_only():
    text = (DOCS / "benchmarks.md").read_text()
    pattern = re.compile(r"<!-- BEGIN (\S+) -->\n(.*?)\n<!-- END \1 -->", re.S)
    blocks = pattern.findall(text)
    outside = pattern.sub("", text).split("\n")
    assert [line for line in outside if line.strip()] == ["# Benchmarks"]
    names = [name for name, _ in blocks]
    assert len(names) == len(set(names)), "two blocks of one name"
    titles = [re.findall(r"^## (.*)$", body, re.M) for _, body in blocks]
    assert all(len(t) <= 1 for t in titles)
    titles = [t[0] for t in titles if t]
    assert len(titles) == len(set(titles)), "two blocks answer the same question"
    for name, body in blocks:
        assert "Added by hand" not in body, name
        if name != "about":
            assert re.search(r"^Command: `", body, re.M), name
            assert re.search(r"^Machine: .*commit \w+", body, re.M), name


def _landing_example(path):
    """The first Python code block of a page (rst or markdown)."""
    text = path.read_text()
    if path.suffix == ".md":
        return re.search(r"```python\n(.*?)```", text, re.S).group(1)
    block = re.search(r"\.\. code-block:: python\n\n((?:   .*\n|\n)+)", text).group(1)
    return "\n".join(line[3:] for line in block.splitlines())


def test_the_landing_example_uses_pseudo_labels(monkeypatch):
    code = _landing_example(DOCS / "index.rst")
    assert code.strip() == _landing_example(ROOT / "README.md").strip()
    import sklearn.datasets

    load_digits = sklearn.datasets.load_digits

    def small_sample(**kwargs):
        X, y = load_digits(**kwargs)
        return X[:500], y[:500]

    monkeypatch.setattr(sklearn.datasets, "load_digits", small_sample)
    namespace = {}
    exec(compile(code, "index.rst", "exec"), namespace)
    clf = namespace["clf"]
    alpha = clf.history_[:, "alpha"]
    assert clf.T1_ < clf.T2_ < clf.max_epochs_
    assert max(alpha) == 3.0
    assert len(clf.transduction_) == 500


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip(
            "needs Chromium and ChromeDriver (apt-get install chromium chromium-driver)"
        )
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    yield driver
    driver.quit()


def _open(browser, page):
    browser.get(page.as_uri())
    # MathJax typesets after the page loads: wait for it where it runs.
    browser.set_script_timeout(30)
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "if (window.MathJax && MathJax.startup) {"
        "  MathJax.startup.promise.then(() => done(true));"
        "} else { done(false); }"
    )


@pytest.mark.parametrize("name", PAGES)
def test_pages_fit_1280_px_in_the_browser(html, browser, name, tmp_path):
    _open(browser, html / f"{name}.html")
    width, scroll = browser.execute_script(
        "return [window.innerWidth, document.documentElement.scrollWidth];"
    )
    assert width == 1280
    assert scroll <= width, f"{name}.html scrolls horizontally ({scroll} px)"
    shots = os.environ.get("DOCS_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(shots) / f"{name}.png"))


def test_formulas_are_typeset_offline(html, browser):
    _open(browser, html / "user_guide.html")
    typeset = browser.execute_script(
        "return document.querySelectorAll('mjx-container').length;"
    )
    text = browser.execute_script("return document.body.innerText;")
    assert typeset >= 10
    assert "\\[" not in text and "\\(" not in text and "\\frac" not in text
    # The figure of a training step is an image that fits its column.
    width, column = browser.execute_script(
        "const img = document.querySelector('img[src$=\"training_step.svg\"]');"
        "return [img.getBoundingClientRect().width,"
        " img.closest('article, main, .bd-article').getBoundingClientRect().width];"
    )
    assert 0 < width <= column
