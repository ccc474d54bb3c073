"""The report of a recipe without a hook: its runs' own tables and every numeric per-epoch series.

Every recipe's ``summary.json`` may hold a ``table`` (the rows ``qtrain run`` prints); those rows are
shown per run. A run without one shows its scalar summary values (wall time, parameter counts...).

Example:
    >>> from pathlib import Path
    >>> from qtrain.report.collect import Run
    >>> run = Run(Path("runs/x__a__s0__t"), {"recipe": "x"}, {}, {"table": [{"model": "m", "acc": 0.9}]})
    >>> generic_section("x", [run]).tables[0].rows
    [{'run': 'x__a__s0__t', 'model': 'm', 'acc': 0.9}]
"""
from __future__ import annotations

from typing import Any, Sequence

from qtrain.report.collect import Run, is_number
from qtrain.report.section import ReportSection, Table

__all__ = ["generic_section", "summary_rows"]

_SCALARS = ("seed", "wall_time_s")


def _scalars(summary: dict[str, Any]) -> dict[str, Any]:
    out = {k: summary[k] for k in _SCALARS if k in summary}
    out.update({k: v for k, v in summary.items() if k not in out and (is_number(v) or isinstance(v, str))
                and k not in ("recipe", "preset", "run_dir", "qtrain_version")})
    return out


def summary_rows(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """One row per entry of each finished run's ``summary["table"]`` (else one row of its scalar values)."""
    rows: list[dict[str, Any]] = []
    for run in runs:
        if not run.summary:
            continue
        table = run.summary.get("table")
        if isinstance(table, list) and table and all(isinstance(r, dict) for r in table):
            rows += [{"run": run.name, **r} for r in table]
        else:
            rows.append({"run": run.name, **_scalars(run.summary)})
    return rows


def generic_section(recipe: str, runs: Sequence[Run]) -> ReportSection:
    """The fallback section: the runs' tables, curves of every numeric ``metrics.jsonl`` series."""
    return ReportSection(
        title=f"{recipe}: runs",
        intro=(f"Recipe {recipe!r} defines no report hook: each run's own results table (as `qtrain run` prints "
               "it) and every numeric per-epoch series of metrics.jsonl."),
        tables=[Table("Results per run", summary_rows(runs))], curves=None)
