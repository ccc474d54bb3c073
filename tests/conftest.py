"""Fixtures shared by the whole test tree (``tests/`` mirrors ``src/qtrain/``).

Modules beside this file (``helpers``, ``reference``) are importable from every test: pytest puts
this folder on ``sys.path`` when it loads this conftest. The repository root is put there too, so
tests of the benchmark scripts can import ``benchmarks.*`` wherever pytest is started from.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


@pytest.fixture
def repo_root() -> Path:
    """The repository root (holds ``benchmarks/``, ``README.md``)."""
    return REPO_ROOT


@pytest.fixture
def single_thread() -> Iterator[None]:
    """One torch intra-op thread for the test, restored after it.

    The circuits and models of many tests are tiny: on a busy 2-core host, waking torch's thread
    pool for every small op costs milliseconds where the op itself costs microseconds.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
