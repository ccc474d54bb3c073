"""A sweep's table over seeds: rows grouped by (preset, grid point, model), mean ± std of numeric columns.

Used by :func:`qtrain.sweep.sweep` (``results.md``, ``results.csv``); also callable on the
``summary.json`` files of a finished sweep folder (:func:`collect_summaries`).

Example:
    >>> s = [{"preset": "p", "seed": k, "overrides": ["lr=0.1"], "table": [{"model": "m", "acc": a}]}
    ...      for k, a in enumerate([90.0, 92.0])]
    >>> aggregate(s, ["lr"])[0]["acc"], aggregate(s, ["lr"])[0]["point"]
    ('91.00 ± 1.41', 'lr=0.1')
"""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any, Sequence

from qtrain.report.stats import format_mean_std, mean_std

__all__ = ["aggregate", "collect_summaries", "markdown_table", "write_tables", "point_of"]

_TEXT_COLUMNS = ("preset", "point", "model")


def collect_summaries(folder: str | Path) -> list[dict[str, Any]]:
    """``summary.json`` of every run folder directly inside ``folder`` (a sweep folder), sorted by path."""
    return [json.loads(p.read_text()) for p in sorted(Path(folder).glob("*/summary.json"))]


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def point_of(summary: dict[str, Any], grid_keys: Sequence[str]) -> str:
    """The grid point of a run: its overrides of the grid's keys, ``key=value`` joined by commas."""
    last = {o.partition("=")[0].strip(): o for o in summary.get("overrides", [])}  # a later --set wins
    return ",".join(last[k] for k in grid_keys if k in last)


def aggregate(summaries: Sequence[dict[str, Any]], grid_keys: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Group the rows of each summary's results table by (preset, point, model); mean ± std of numeric columns.

    Args:
        summaries: the runs' ``summary.json`` contents.
        grid_keys: the sweep's grid axes; each run's overrides of them make its ``point``.

    Returns:
        One dict per group, in first-seen order: ``preset``, ``point`` (only with ``grid_keys``),
        ``model``, ``seeds`` (their list), and for every numeric column ``{col: "m ± s"}`` plus raw
        ``{col}__mean`` / ``{col}__std`` floats. Columns that are equal for every seed (parameter
        counts) stay plain numbers.
    """
    groups: dict[tuple[str, str, str], list[tuple[int, dict[str, Any]]]] = {}
    for s in summaries:
        for row in s.get("table", []):
            key = (str(s.get("preset")), point_of(s, grid_keys), str(row.get("model")))
            groups.setdefault(key, []).append((s.get("seed"), row))
    out = []
    for (preset, point, model), items in groups.items():
        rec: dict[str, Any] = {"preset": preset, **({"point": point} if grid_keys else {}), "model": model,
                               "seeds": [seed for seed, _ in items]}
        for col in [c for c in items[0][1] if c != "model"]:
            vals = [r.get(col) for _, r in items]
            if not all(_is_num(v) for v in vals):
                continue
            if len(set(vals)) == 1 and isinstance(vals[0], int):
                rec[col] = vals[0]
                continue
            mean, std = mean_std(vals)
            rec[col] = format_mean_std(vals, digits=2 if abs(mean) >= 1 else 3)
            rec[f"{col}__mean"], rec[f"{col}__std"] = mean, std
        out.append(rec)
    return out


def _columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    cols: list[str] = []
    for r in rows:
        cols += [c for c in r if "__" not in c and c not in cols]
    return cols


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """The aggregated rows as a markdown table (``seeds`` shown as ``n``)."""
    if not rows:
        return "(no finished runs)\n"
    cols = _columns(rows)
    head = ["n" if c == "seeds" else c for c in cols]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" if c in _TEXT_COLUMNS else "---:"
                                                            for c in cols) + "|"]
    for r in rows:
        cells = [str(len(r["seeds"])) if c == "seeds" else _fmt(r.get(c)) for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def command_of(info: dict[str, Any]) -> str:
    """The ``qtrain sweep`` command that makes a sweep with ``sweep.json`` content ``info``."""
    presets = [p for p in info["presets"] if p != "default"]
    grid = [f"{k}={','.join(v)}" for k, v in (info.get("grid") or {}).items()]
    cmd = (f"qtrain sweep {info['recipe']}" + (f" --presets {','.join(presets)}" if presets else "")
           + f" --seeds {','.join(map(str, info['seeds']))}"
           + "".join(f" --set {o}" for o in [*info["overrides"], *grid]))
    return cmd + (f" --jobs {info['jobs']}" if info.get("jobs", 1) > 1 else "") + (" --ray" if info.get("ray") else "")


def write_tables(sweep_dir: Path, rows: Sequence[dict[str, Any]], info: dict[str, Any]) -> None:
    """``results.md`` (title, command, table) and ``results.csv`` (means and stds as separate columns)."""
    from qtrain.train.checkpoint import atomic_write_text

    text = (f"# Sweep of `{info['recipe']}`\n\nCommand: `{command_of(info)}`\n\nmean ± std over seeds (sample std; "
            f"0.00 with one seed)\n\n{markdown_table(rows)}")
    atomic_write_text(sweep_dir / "results.md", text)
    buf = io.StringIO()
    keys = {k: None for r in rows for k in r}
    cols = [c for c in keys if c != "seeds" and f"{c}__mean" not in keys]  # numbers, not "m ± s" strings
    names = [c for c in _TEXT_COLUMNS if c in keys] + ["n"] + [c for c in cols if c not in _TEXT_COLUMNS]
    writer = csv.DictWriter(buf, fieldnames=names)
    writer.writeheader()
    for r in rows:
        writer.writerow({**{c: r.get(c) for c in cols}, "n": len(r["seeds"])})
    atomic_write_text(sweep_dir / "results.csv", buf.getvalue())
