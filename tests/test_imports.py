"""The import graph of ``src/qtrain``: no cycles, and the library never imports the CLI, ``benchmarks`` or ``tests``.

Every module is parsed with ``ast``; module-level and function-level imports both count (a lazy
import still ties two modules together), imports under ``if TYPE_CHECKING:`` do not. An edge
``a -> b`` means module ``a`` imports module ``b`` (``from pkg import name`` points at
``pkg.name`` when that is a module, else at ``pkg``); importing a submodule does not add edges to
its parent packages.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator

import pytest

# Edges allowed for now, each with its reason; empty: the library imports no CLI, benchmarks or tests,
# and has no cycle. test_allow_list_has_no_stale_entries fails when a listed edge disappears.
KNOWN_OFFENDERS: dict[tuple[str, str], str] = {}
FORBIDDEN_ROOTS = ("benchmarks", "tests")
CLI = "qtrain.cli"
SRC = Path(__file__).resolve().parents[1] / "src"


def _modules(src: Path) -> dict[str, Path]:
    """Dotted name -> file of every module under ``src/qtrain`` (packages by their ``__init__``)."""
    out = {}
    for path in sorted((src / "qtrain").rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or \
        (isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)  # the else branch runs
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: dict[str, Path]) -> list[str]:
    """The dotted names one import statement loads (relative imports resolved)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module if is_package else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]


def _nearest_module(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_edges(src: Path) -> set[tuple[str, str]]:
    """Every ``(importer, imported)`` pair inside ``qtrain``, plus imports of ``benchmarks``/``tests``."""
    modules = _modules(src)
    edges = set()
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in _import_nodes(ast.parse(path.read_text(), filename=str(path))):
            for target in _targets(node, module, is_package, modules):
                root = target.split(".")[0]
                if root in FORBIDDEN_ROOTS:
                    edges.add((module, root))
                elif root == "qtrain":
                    known = _nearest_module(target, modules)
                    if known is not None and known != module:
                        edges.add((module, known))
    return edges


def _forbidden(edge: tuple[str, str]) -> bool:
    src, dst = edge
    if dst in FORBIDDEN_ROOTS:
        return True
    in_cli = src == CLI or src.startswith(CLI + ".") or src == "qtrain.__main__"  # the entry points
    return (dst == CLI or dst.startswith(CLI + ".")) and not in_cli


def cycle_edges(edges: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The edges that lie on a cycle: ``a -> b`` with ``a`` reachable again from ``b``."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)

    def reach(start: str) -> set[str]:
        seen, todo = {start}, [start]
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    return {(a, b) for a, b in edges if a in reach(b)}


@pytest.fixture(scope="module")
def edges() -> set[tuple[str, str]]:
    return import_edges(SRC)


def _fmt(bad: set[tuple[str, str]]) -> str:
    return "\n".join(f"  {a} -> {b}" for a, b in sorted(bad))


def test_no_import_cycle_inside_qtrain(edges: set[tuple[str, str]]) -> None:
    bad = cycle_edges({e for e in edges if e not in KNOWN_OFFENDERS and not _forbidden(e)}) - set(KNOWN_OFFENDERS)
    assert not bad, f"import cycles in src/qtrain (every edge on a cycle):\n{_fmt(bad)}"


def test_library_never_imports_cli_benchmarks_or_tests(edges: set[tuple[str, str]]) -> None:
    bad = {e for e in edges if _forbidden(e)} - set(KNOWN_OFFENDERS)
    assert not bad, f"library modules importing the CLI, benchmarks/ or tests/:\n{_fmt(bad)}"


def test_simulator_has_no_offender_even_allow_listed() -> None:
    assert not [e for e in KNOWN_OFFENDERS if e[0].startswith("qtrain.sim")]


def test_allow_list_has_no_stale_entries(edges: set[tuple[str, str]]) -> None:
    stale = set(KNOWN_OFFENDERS) - edges
    assert not stale, f"allow-listed edges that no longer exist; delete them from KNOWN_OFFENDERS:\n{_fmt(stale)}"


def test_checker_finds_cycles_lazy_imports_and_forbidden_edges(tmp_path: Path) -> None:
    """The walker on a toy package: a cycle through a function-level import, a TYPE_CHECKING import
    that does not count, a relative import, and CLI/benchmarks imports from library modules."""
    pkg = tmp_path / "qtrain"
    (pkg / "cli").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "from qtrain import b\n",
        "b.py": "def f():\n    from .c import g\n",
        "c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from qtrain.d import x\n"
                "def g():\n    import qtrain.a\n",
        "d.py": "from qtrain.c import g\nimport benchmarks.bench_sim\n",
        "e.py": "from qtrain.cli import main\n",
        "cli/__init__.py": "from qtrain.cli import run\nfrom qtrain import e\n",
        "cli/run.py": "from qtrain.d import x\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    found = import_edges(tmp_path)
    assert found == {("qtrain.a", "qtrain.b"), ("qtrain.b", "qtrain.c"), ("qtrain.c", "qtrain.a"),
                     ("qtrain.d", "qtrain.c"), ("qtrain.d", "benchmarks"), ("qtrain.e", "qtrain.cli"),
                     ("qtrain.cli", "qtrain.cli.run"), ("qtrain.cli", "qtrain.e"), ("qtrain.cli.run", "qtrain.d")}
    assert cycle_edges(found) == {("qtrain.a", "qtrain.b"), ("qtrain.b", "qtrain.c"), ("qtrain.c", "qtrain.a"),
                                  ("qtrain.e", "qtrain.cli"), ("qtrain.cli", "qtrain.e")}
    assert {e for e in found if _forbidden(e)} == {("qtrain.d", "benchmarks"), ("qtrain.e", "qtrain.cli")}
