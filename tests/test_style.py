"""The style guide's limits, checked: ruff clean, library files <= 420 lines, function bodies <= 40 lines."""
from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

MAX_FILE_LINES = 420  # STYLE.md: "library files stay under ~400 lines"
MAX_FUNCTION_LINES = 40  # STYLE.md: "functions under ~40" (the body, docstring excluded)


def _library_files(repo_root: Path) -> list[Path]:
    return sorted((repo_root / "src" / "qtrain").rglob("*.py"))


def _body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = node.body
    first = body[0]
    if len(body) > 1 and isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        first = body[1]  # the docstring does not count
    return (node.end_lineno or first.lineno) - first.lineno + 1


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int]]:
    """``(name, body lines)`` of every function in ``source`` whose body is longer than ``limit``."""
    return [(node.name, _body_lines(node)) for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _body_lines(node) > limit]


def test_long_functions_counts_the_body_without_the_docstring() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(41))
    src = f'def f():\n    """doc\n    more doc\n    """\n{body}\n\ndef g():\n    return 1\n'
    assert long_functions(src) == [("f", 41)]
    assert long_functions(src, limit=41) == []


def test_library_files_and_functions_stay_small(repo_root: Path) -> None:
    too_long = {}
    for path in _library_files(repo_root):
        text = path.read_text()
        name = str(path.relative_to(repo_root))
        if len(text.splitlines()) > MAX_FILE_LINES:
            too_long[name] = len(text.splitlines())
        for func, n in long_functions(text):
            too_long[f"{name}:{func}"] = n
    assert too_long == {}


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff is in the test extra")
def test_ruff_is_clean(repo_root: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise", "--no-cache",
                          "src", "tests", "benchmarks", "examples", "docs"],
                         cwd=repo_root, capture_output=True, text=True, timeout=300)
    quiet = ("Found", "[*]", "All checks passed")  # ruff's summary lines, not findings
    findings = [line for line in out.stdout.splitlines() if line and not line.startswith(quiet)]
    assert (out.returncode, findings) == (0, [])
