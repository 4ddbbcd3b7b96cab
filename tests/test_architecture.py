"""The shape of the package, checked from its source: which stage may import which, and what stays pure."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "notifier"
TESTS = Path(__file__).resolve().parent


@cache
def _modules(root: Path = PACKAGE) -> tuple[tuple[str, ast.Module], ...]:
    """Every module under `root` by dotted name, parsed (once per run: several checks read them)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found.append((name, ast.parse(path.read_text(encoding="utf-8"))))
    return tuple(found)


def _imports(tree: ast.AST) -> Iterator[str]:
    """Every `notifier…` module a module imports at run time, also inside functions; imports made only for the
    type checker (`if TYPE_CHECKING:`) are left out, as they create no dependency when the code runs."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.If) and _typing_only(node.test):
            yield from (name for branch in node.orelse for name in _imports(branch))
        elif isinstance(node, (ast.stmt, ast.ExceptHandler, ast.match_case)):
            yield from _imports(node)  # expressions hold no imports: only statements are descended into


def _typing_only(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _package(module: str) -> str | None:
    """The stage package (or top-level module) of `notifier.<x>…`; None outside the project."""
    parts = module.split(".")
    return parts[1] if parts[0] == "notifier" and len(parts) > 1 else None


@cache
def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    known = {_package(name) for name, _ in _modules()} - {None}
    for name, tree in _modules():
        source = _package(name)
        for imported in _imports(tree):
            target = _package(imported)
            if source is not None and target is not None and target in known and target != source:
                graph[source].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each group of packages that import each other, directly or round about (Tarjan's components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_config_and_channels_do_not_import_each_other() -> None:
    """Channel settings are validated without channel code: channels import config, never the other way round."""
    graph = package_graph()
    assert "channels" not in graph["config"]
    assert not [group for group in cycles(graph) if {"config", "channels"} <= set(group)]


def test_no_package_imports_one_that_imports_it_back() -> None:
    """The stages form layers: no two packages of `notifier` import each other, directly or round about."""
    assert cycles(package_graph()) == []


def test_the_cycle_finder_finds_cycles() -> None:
    """The check above could not pass by failing to see a cycle."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_test_module_imports_another() -> None:
    """Tests share what they share through `tests/support` (and conftest fixtures), never by importing a test
    module or a conftest: a test module can then move, or go, without breaking others."""
    offenders = sorted(
        f"{name} imports {imported}"
        for name, tree in _modules(TESTS)
        for imported in _imports(tree)
        if imported.startswith("tests.") and not imported.startswith("tests.support")
    )
    assert offenders == []
