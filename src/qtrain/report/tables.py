"""Rows of dicts as markdown and HTML tables (columns: the union of the rows' keys, first-seen order).

Example:
    >>> print(markdown_rows([{"model": "QT-16", "params": 457}, {"model": "CNN", "params": 6690, "note": "x"}]), end="")
    | model | params | note |
    |---|---:|---:|
    | QT-16 | 457 | - |
    | CNN | 6,690 | x |
"""
from __future__ import annotations

import html
from typing import Any, Sequence

__all__ = ["columns", "cell", "markdown_rows", "html_table", "LEFT_COLUMNS"]

LEFT_COLUMNS = frozenset({"dataset", "data", "model", "method", "run", "system"})
"""Columns of names, aligned left in markdown (the others hold numbers: right)."""


def columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The union of the rows' keys in first-seen order."""
    return list(dict.fromkeys(k for r in rows for k in r))


def cell(v: Any) -> str:
    """A cell's text: ``-`` for None, thousands separators for ints, ``str`` otherwise."""
    if v is None:
        return "-"
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)


def markdown_rows(rows: Sequence[dict[str, Any]], align: str = "auto") -> str:
    """Rows as a markdown table; ``align="auto"`` puts :data:`LEFT_COLUMNS` left and the rest right,
    ``"left"`` every column left. A missing key reads ``-``."""
    if align not in ("auto", "left"):
        raise ValueError(f"align={align!r} is unknown; use 'auto' or 'left'")
    if not rows:
        return "(no finished runs)\n"
    cols = columns(rows)
    marks = ["---" if align == "left" or c in LEFT_COLUMNS else "---:" for c in cols]
    out = ["| " + " | ".join(cols) + " |", "|" + "|".join(marks) + "|"]
    out += ["| " + " | ".join(cell(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(out) + "\n"


def html_table(rows: Sequence[dict[str, Any]], css_class: str = "ours-vs-paper") -> str:
    """Rows as an HTML ``<table>`` (escaped); a missing key reads ``-``."""
    if not rows:
        return "<p>(no finished runs)</p>"
    cols = columns(rows)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell(r.get(c)))}</td>" for c in cols) + "</tr>" for r in rows)
    return f'<table class="{html.escape(css_class)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
