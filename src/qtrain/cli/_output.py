"""Console output shared by the subcommands: rich tables and config-field listings (imported on use)."""
from __future__ import annotations

from typing import Any, Sequence

__all__ = ["console", "print_table", "field_lines"]


def console() -> Any:
    """A rich console on stdout that prints text as given (no syntax highlighting, lines not cut)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def print_table(rows: Sequence[dict[str, Any]], title: str = "") -> None:
    """Print result rows (dicts with the same keys) as a table on stdout; ints get thousands separators."""
    from rich.table import Table

    if not rows:
        return
    table = Table(title=title or None)
    for key in rows[0]:
        table.add_column(str(key), justify="left" if key == "model" else "right")
    for row in rows:
        table.add_row(*(f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v) for v in row.values()))
    console().print(table)


def field_lines(fields: Sequence[Any], indent: str = "    ") -> list[str]:
    """One line per config field (:class:`qtrain.config.FieldInfo`): name, default, help and type."""
    lines = []
    for f in fields:
        default = repr(list(f.default) if isinstance(f.default, tuple) else f.default)
        lines.append(f"{indent}{f.name:<25} = {default:<12} {f.help}  [{f.type_name}]")
    return lines
