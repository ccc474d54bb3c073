"""Reports of runs and sweeps: the paper's figures as PNGs, one HTML page, "ours vs paper" tables.

* :func:`build_report` -- ``qtrain report PATH``.
* :data:`PAPER_TABLES` / :func:`paper_row` -- the paper's Tables I-III, the one source of its numbers.

Example:
    >>> from qtrain.report import paper_row
    >>> paper_row("mnist", "qt", 106).test_acc
    93.81
"""
from __future__ import annotations

import importlib
from typing import Any

from qtrain.report.paper import PAPER_TABLES, QCML_PARAMS_PAPER, PaperRow, dataset_key, paper_row

__all__ = ["PAPER_TABLES", "QCML_PARAMS_PAPER", "PaperRow", "dataset_key", "paper_row", "build_report"]


def __getattr__(name: str) -> Any:
    if name == "build_report":  # imports the plotting code only when used
        return importlib.import_module("qtrain.report.build").build_report
    raise AttributeError(f"module 'qtrain.report' has no attribute {name!r}")
