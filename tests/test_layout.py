"""The layout stays as drawn in the README: imports point one way and never run in circles.

Walks every module of ours with ``ast`` (imports inside functions count too: a lazy import is
still a dependency) and checks the layer rules below and that the module graph has no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("crawler", "spiders", "pipelines", "storage", "govwatch", "samplesite")
OURS = (*PACKAGES, "scheduler")
MAX_LINES = 450

# layer -> the layers it may import (its own always allowed). The most specific prefix wins.
ALLOWED: dict[str, set[str]] = {
    "storage": set(),
    "pipelines.text": set(),
    "crawler": {"storage"},
    "spiders": {"crawler", "storage", "pipelines.text"},
    "pipelines": {"crawler", "storage", "pipelines.text"},
    "samplesite": {"pipelines.text"},
    # how runs are carried out: child crawls here, or seeded into the cluster
    "scheduler": {
        "crawler",
        "storage",
        "govwatch.runner",
        "govwatch.cluster",
        "govwatch.schedules",
    },
    "govwatch": {*PACKAGES, "scheduler"},
}


def layer_of(module: str) -> str:
    best = ""
    for layer in ALLOWED:
        if (module == layer or module.startswith(layer + ".")) and len(layer) > len(best):
            best = layer
    return best


def modules() -> dict[str, Path]:
    found = {"scheduler": ROOT / "scheduler.py"}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of ours that ``name`` imports (``from pkg import mod`` resolves to the module)."""
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join([*base, node.module] if node.module else base)
            else:
                stem = node.module or ""
            targets = [f"{stem}.{a.name}" for a in node.names if f"{stem}.{a.name}" in known]
            targets = targets or [stem]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target.split(".")[0] in OURS and target != name:
                out.add(target)
    return out


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports_of(name, path, known) for name, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def upward(edges: dict[str, set[str]]) -> list[str]:
    bad = []
    for source, targets in sorted(edges.items()):
        mine = layer_of(source)
        for target in sorted(targets):
            theirs = layer_of(target)
            ok = (
                theirs == mine
                or theirs.startswith(mine + ".")
                or any(theirs == a or theirs.startswith(a + ".") for a in ALLOWED[mine])
                or any(target == a or target.startswith(a + ".") for a in ALLOWED[mine])
            )
            if not ok:
                bad.append(f"{source} -> {target}")
    return bad


def test_the_graph_is_read():
    edges = graph()
    assert "govwatch.cli.base" in edges
    assert "storage" in edges["govwatch.cli.base"]
    assert "crawler.source_model" in edges["crawler.sources"]
    assert "spiders.source" in edges["spiders.loader"]


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_imports_point_down():
    assert upward(graph()) == []


def test_storage_imports_nothing_of_ours():
    edges = graph()
    outside = [t for s, ts in edges.items() if s.startswith("storage") for t in ts]
    assert [t for t in outside if not t.startswith("storage")] == []


def test_the_checks_catch_what_they_guard():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert upward({"storage.store": {"crawler.items"}}) == ["storage.store -> crawler.items"]
    assert upward({"pipelines.version": {"govwatch.notify"}}) == [
        "pipelines.version -> govwatch.notify"
    ]
    assert upward({"govwatch.cli.base": {"storage"}}) == []


@pytest.mark.parametrize("name", sorted(modules()))
def test_modules_stay_small(name):
    lines = modules()[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{name}: {lines} lines; split it by job"


def test_every_package_says_what_it_is_for():
    for name, path in modules().items():
        if path.name == "__init__.py" or name == "scheduler":
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
            assert len(doc or "") > 30, f"{name} has no docstring saying what it is for"


def test_extraction_processes_import_no_scrapy():
    """An extraction process imports pipelines.extractor and warms up: Scrapy (half a second
    of start-up in every process) is the crawl's, not theirs."""
    import subprocess
    import sys

    code = (
        "import sys, pipelines.extractor as e; e.warm_up(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'scrapy', 'twisted'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
