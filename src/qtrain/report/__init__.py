"""Reports of runs and sweeps: one HTML page and PNG figures per recipe, "ours vs paper" tables.

This layer knows no recipe. A recipe gives its section (tables vs its paper's rows, which
metrics to plot, its paper's figures) through an optional hook, ``Recipe(report=...)``; recipes
without one get a generic section. ``qtrain report PATH`` is :func:`qtrain.recipes.report`.

* :func:`build_report` -- run/sweep folder -> ``report.html``, ``report.md``, PNGs.
* :class:`ReportSection`, :class:`Table`, :class:`Figure` -- what a hook returns.
* :func:`mean_std`, :func:`format_mean_std` -- the one "mean ± std over seeds".
* :func:`find_runs`, :func:`load_run`, :class:`Run` -- reading run folders.
* :class:`PaperProtocol`, :func:`protocol_table` -- each run's protocol and its differences from the paper's.

Example:
    >>> from qtrain.report import format_mean_std
    >>> format_mean_std([91.2, 92.0, 90.4])
    '91.20 ± 0.80'
"""
from __future__ import annotations

import importlib
from typing import Any

from qtrain.report.collect import Run, find_runs, load_run, runs_by_recipe
from qtrain.report.protocol import PaperProtocol, ProtocolLookup, caveat, differences, protocol_table
from qtrain.report.section import Figure, ReportHook, ReportSection, Table
from qtrain.report.stats import format_mean_std, mean_std
from qtrain.report.tables import html_table, markdown_rows

__all__ = ["Run", "find_runs", "load_run", "runs_by_recipe", "Figure", "ReportHook", "ReportSection", "Table",
           "format_mean_std", "mean_std", "html_table", "markdown_rows", "build_report", "PaperProtocol",
           "ProtocolLookup",
           "caveat", "differences", "protocol_table"]


def __getattr__(name: str) -> Any:
    if name == "build_report":  # imports the plotting code only when used
        return importlib.import_module("qtrain.report.build").build_report
    raise AttributeError(f"module 'qtrain.report' has no attribute {name!r}")
