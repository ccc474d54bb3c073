"""What a recipe's report hook returns: its tables, the metrics to plot as curves, its own figures.

A recipe opts in with ``Recipe(..., report=hook)`` where ``hook(runs) -> ReportSection`` receives
the finished :class:`~qtrain.report.collect.Run` records of that recipe. Recipes without a hook get
:func:`qtrain.report.generic.generic_section` (their summary tables and every numeric series).

Example:
    >>> section = ReportSection("my_recipe", tables=[Table("Results", [{"model": "a", "acc %": 91.2}])],
    ...                         curves=("train_loss",))
    >>> [t.title for t in section.tables], section.curves
    (['Results'], ('train_loss',))
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from qtrain.report.collect import Run

__all__ = ["Table", "Figure", "ReportSection", "ReportHook"]


@dataclass(frozen=True)
class Table:
    """A titled table: rows are dicts (columns: the union of their keys, first-seen order)."""

    title: str
    rows: list[dict[str, Any]]
    note: str = ""
    """A sentence under the title: units, the paper's source, how cells read."""


@dataclass(frozen=True)
class Figure:
    """A PNG the report writes by calling ``draw(path)``; ``draw`` returns ``None`` when it has nothing to draw."""

    name: str
    """File name inside the report folder, e.g. ``fig2_loss_curves.png``."""
    title: str
    """Short label, e.g. ``"Fig. 2 (paper)"``."""
    caption: str
    draw: Callable[[Path], Path | None]


@dataclass
class ReportSection:
    """One recipe's part of a report.

    Attributes:
        title: the section heading.
        intro: a paragraph above the tables (paper, protocol, how to read them).
        tables: the recipe's tables (ours vs paper first).
        curves: ``metrics.jsonl`` keys drawn as per-epoch curves into ``<recipe>_curves.png``:
            ``None`` draws every numeric series, ``()`` none.
        figures: recipe-specific figures (the paper's).
    """

    title: str
    intro: str = ""
    tables: list[Table] = field(default_factory=list)
    curves: tuple[str, ...] | None = None
    figures: list[Figure] = field(default_factory=list)


ReportHook = Callable[[Sequence[Run]], ReportSection]
"""``hook(runs) -> ReportSection``: the optional ``report`` field of a recipe."""
