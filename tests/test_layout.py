"""The package's import graph: no cycles, and low-level modules stay low."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sklearn_pseudolabel"

#: Modules that must not import any module of the package outside the listed
#: ones (their layer and below).
LOW_LEVEL = {
    "parts": {"parts"},
    "_schedule": set(),
    "_validation": set(),
    "_cnn": set(),
    "_augment": {"_validation"},
    "_distort": {"_augment", "_validation"},
    "callbacks": {"_validation"},
    "_statistics": {"_distributed"},
    "_batches": {"_distributed"},
    "_net": {"_batches", "_distributed", "_schedule", "_statistics", "parts"},
    "_guards": set(),
    "_progress": set(),
    "_test_time": {"_augment", "_distort", "_validation"},
    "_plan": {
        "_augment",
        "_batches",
        "_distort",
        "_distributed",
        "_test_time",
        "_validation",
    },
    "_distributed": set(),
    "_disk": set(),
    "_checkpoint": {"callbacks", "_distributed", "_validation"},
    "_build": {
        "_batches",
        "_checkpoint",
        "_disk",
        "_distributed",
        "_cnn",
        "_net",
        "_schedule",
        "_statistics",
        "_validation",
        "callbacks",
        "parts",
    },
    "_pseudo_label": {"_build", "_checkpoint"},
    "_students": {"_build", "_checkpoint", "_test_time"},
}


def _module_name(path):
    relative = path.relative_to(PACKAGE).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts) or "__init__"


def _imports(path):
    """Top-level package modules that ``path`` imports (relative imports)."""
    name = _module_name(path)
    package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
    if name == "__init__":
        package = []
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            if node.module:
                target = [*base, *node.module.split(".")]
                found.add(target[0])
            else:  # from . import x: a module, or a name of the package
                for alias in node.names:
                    where = PACKAGE.joinpath(*base, alias.name)
                    is_module = where.is_dir() or where.with_suffix(".py").exists()
                    found.add([*base, alias.name][0] if is_module else "__init__")
    return found - {name.split(".")[0]} if "." in name else found - {name}


@pytest.fixture(scope="module")
def graph():
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        top = _module_name(path).split(".")[0]
        graph.setdefault(top, set()).update(_imports(path))
    return graph


def test_no_import_cycles(graph):
    visiting, done = set(), set()

    def visit(node, trail):
        if node in done:
            return
        assert node not in visiting, f"import cycle: {' -> '.join(trail + [node])}"
        visiting.add(node)
        for target in graph.get(node, ()):
            if target != "__init__":
                visit(target, trail + [node])
        visiting.discard(node)
        done.add(node)

    for node in graph:
        visit(node, [])


@pytest.mark.parametrize("module, allowed", sorted(LOW_LEVEL.items()))
def test_low_level_modules_import_only_below(graph, module, allowed):
    assert graph[module] <= allowed, f"{module} imports {graph[module] - allowed}"


def test_nothing_imports_the_demo(graph):
    assert not [m for m, targets in graph.items() if "__main__" in targets]


def test_benchmarks_and_examples_use_the_public_api():
    root = PACKAGE.parent
    scripts = [*root.glob("benchmarks/*.py"), *root.glob("examples/*.py")]
    assert scripts
    for path in scripts:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] == "sklearn_pseudolabel":
                    private = [p for p in parts[1:] if p.startswith("_")]
                    assert not private, f"{path.name} imports {name}"
