"""Console output shared by the subcommands: rich tables and config-field listings (imported on use)."""
from __future__ import annotations

from typing import Any, Sequence

__all__ = ["console", "print_table", "field_lines"]


def console() -> Any:
    """A rich console on stdout that prints text as given (no syntax highlighting, lines not cut)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def print_table(rows: Sequence[dict[str, Any]], title: str = "") -> None:
    """Print result rows as a table on stdout; ints get thousands separators.

    Columns are the union of the rows' keys; a missing or ``None`` value prints as ``-``.
    """
    from rich.table import Table

    from qtrain.report.tables import LEFT_COLUMNS, cell, columns

    if not rows:
        return
    table = Table(title=title or None)
    cols = columns(rows)
    for key in cols:
        table.add_column(str(key), justify="left" if key in LEFT_COLUMNS else "right")
    for row in rows:
        table.add_row(*(cell(row.get(k)) for k in cols))
    console().print(table)


def field_lines(fields: Sequence[Any], indent: str = "    ") -> list[str]:
    """One line per config field (:class:`qtrain.config.FieldInfo`): name, default, help and type."""
    lines = []
    for f in fields:
        default = repr(list(f.default) if isinstance(f.default, tuple) else f.default)
        lines.append(f"{indent}{f.name:<25} = {default:<12} {f.help}  [{f.type_name}]")
    return lines
