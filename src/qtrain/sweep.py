"""Grids of recipe runs (presets x seeds), serially or as Ray tasks, collected into one table.

The library behind ``qtrain sweep`` (its command-line part is :mod:`qtrain.cli.sweep`).
``qtrain sweep qt_image --presets mnist_qt16,mnist_qt61 --seeds 0,1,2 --set epochs=5`` makes
``runs/sweep__qt_image__<time>/`` holding one run folder per (preset, seed), ``sweep.json`` (the
grid, the overrides and every run's outcome), and the table over seeds: ``results.md`` and
``results.csv`` with mean ± std (sample standard deviation, n - 1) of every numeric column of the
recipe's results table, one row per (preset, model).

With ``--ray`` each run is a ``ray.remote`` task calling :func:`qtrain.recipes.run` on a local
Ray instance or the cluster at ``--address`` (install with ``pip install "qtrain[dist]"``; every
node needs qtrain and the data). Ray does the scheduling; tasks return their summaries, which are
written into the sweep folder, so the table is complete even when workers do not share a disk.

Example:
    >>> res = sweep("qt_image", ["mnist_qt16"], [0, 1], ["max_steps=2"])   # doctest: +SKIP
    >>> res.rows[0]["test %"]                                             # doctest: +SKIP
    '23.45 ± 1.20'
"""
from __future__ import annotations

import csv
import io
import json
import math
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from qtrain.report.stats import format_mean_std, mean_std

__all__ = ["SweepResult", "sweep", "aggregate", "collect_summaries", "markdown_table", "parse_list",
           "write_tables"]


@dataclass
class SweepResult:
    """A finished sweep: its folder, the aggregated rows, each run's record and the failed ones."""

    sweep_dir: Path
    rows: list[dict[str, Any]]
    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failures(self) -> list[dict[str, Any]]:
        """Records of the runs that raised (``error`` holds the message)."""
        return [r for r in self.runs if r.get("error")]


def parse_list(text: str, kind: type = str, name: str = "value") -> list[Any]:
    """``"a,b , c"`` -> ``["a", "b", "c"]`` (``kind=int`` for seeds); empty items are refused."""
    items = [t.strip() for t in str(text).split(",")]
    if not items or any(not t for t in items):
        raise ValueError(f"{name}={text!r} must be a comma-separated list without empty items, e.g. a,b,c")
    try:
        return [kind(t) for t in items]
    except ValueError:
        raise ValueError(f"{name}={text!r}: every item must be {kind.__name__} (e.g. 0,1,2)") from None


# ----------------------------------------------------------------------------- running
def _run_one(recipe: str, preset: str, overrides: list[str], seed: int, out: str) -> dict[str, Any]:
    """One grid point; returns its record (never raises: errors are recorded)."""
    from qtrain.recipes.runner import run

    try:
        res = run(recipe, preset=preset, overrides=overrides, seed=seed, out=out, quiet=True)
        return {"preset": preset, "seed": seed, "run_dir": str(res.run_dir), "summary": res.summary}
    except Exception as exc:  # a failed grid point must not cancel the others; it is reported
        return {"preset": preset, "seed": seed, "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=5)}


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ImportError('--ray needs Ray: pip install "qtrain[dist]"') from exc
    return ray


def _run_ray(jobs: list[tuple[str, str, list[str], int, str]], address: str | None,
             cpus_per_run: float) -> list[dict[str, Any]]:
    ray = _import_ray()
    if not ray.is_initialized():
        ray.init(address=address) if address else ray.init()
    task = ray.remote(num_cpus=cpus_per_run)(_run_one)
    return list(ray.get([task.remote(*job) for job in jobs]))


def _check_grid(recipe: str, presets: Sequence[str], seeds: Sequence[int], overrides: list[str]) -> None:
    """Build every config before running anything; raise once with all problems."""
    from qtrain.recipes.registry import load_config

    if not presets or not seeds:
        raise ValueError(f"presets={list(presets)} and seeds={list(seeds)} must both be non-empty, e.g. "
                         "--presets mnist_qt16,mnist_qt61 --seeds 0,1")
    problems = []
    for preset in dict.fromkeys(presets):
        try:
            load_config(recipe, preset, overrides, seeds[0])
        except ValueError as exc:
            problems.append(f"preset {preset!r}: {exc}")
    if problems:
        raise ValueError(f"sweep of {recipe!r} not started, {len(problems)} preset(s) do not build:\n"
                         + "\n".join(problems))


def _make_dir(out: str | Path, recipe: str) -> Path:
    base = Path(out) / f"sweep__{recipe}__{time.strftime('%Y%m%d-%H%M%S')}"
    path, k = base, 1
    while True:
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            k += 1
            path = base.with_name(f"{base.name}-{k}")


def sweep(recipe: str, presets: Sequence[str], seeds: Sequence[int], overrides: Iterable[str] = (),
          out: str | Path = "runs", use_ray: bool = False, address: str | None = None, cpus_per_run: float = 1.0,
          on_run: Callable[[dict[str, Any]], None] | None = None) -> SweepResult:
    """Run ``recipe`` for every (preset, seed) and write the table over seeds.

    Args:
        recipe: registered recipe name.
        presets: preset names (or YAML paths) of the recipe.
        seeds: seeds; each preset runs once per seed.
        overrides: ``key=value`` strings applied to every run.
        out: parent folder of the sweep folder.
        use_ray: run each grid point as a Ray task (else serially, in this process).
        address: Ray cluster address (``None``: start or join a local instance).
        cpus_per_run: CPUs Ray reserves per task.
        on_run: called with each run's record as it finishes (serial mode only).

    Returns:
        :class:`SweepResult`; failed runs are listed in ``failures`` and in ``sweep.json``.

    Raises:
        ValueError: an unknown recipe, or presets whose configs do not build (all listed; nothing runs).
    """
    from qtrain.train.checkpoint import atomic_write_json

    overrides, seeds, presets = list(overrides), [int(s) for s in seeds], list(presets)
    _check_grid(recipe, presets, seeds, overrides)
    if use_ray:
        _import_ray()  # fail before making the sweep folder
    sweep_dir = _make_dir(out, recipe)
    info = {"recipe": recipe, "presets": presets, "seeds": seeds, "overrides": overrides, "ray": use_ray,
            "address": address, "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    atomic_write_json(sweep_dir / "sweep.json", info)
    jobs = [(recipe, p, overrides, s, str(sweep_dir)) for p in presets for s in seeds]
    if use_ray:
        records = _run_ray(jobs, address, cpus_per_run)
    else:
        records = []
        for job in jobs:
            records.append(_run_one(*job))
            if on_run is not None:
                on_run(records[-1])
    for rec in records:  # Ray workers on other machines: keep a copy of each summary here
        if "summary" in rec:
            path = sweep_dir / Path(rec["run_dir"]).name / "summary.json"
            if not path.is_file():
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_json(path, rec["summary"])
    rows = aggregate([r["summary"] for r in records if "summary" in r])
    write_tables(sweep_dir, rows, info)
    runs = [{k: v for k, v in r.items() if k != "summary"} for r in records]
    atomic_write_json(sweep_dir / "sweep.json", {**info, "runs": runs})
    return SweepResult(sweep_dir, rows, runs)


# ----------------------------------------------------------------------------- collecting
def collect_summaries(folder: str | Path) -> list[dict[str, Any]]:
    """``summary.json`` of every run folder directly inside ``folder`` (a sweep folder), sorted by path."""
    return [json.loads(p.read_text()) for p in sorted(Path(folder).glob("*/summary.json"))]


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def aggregate(summaries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Group the rows of each summary's results table by (preset, model); mean ± std of numeric columns.

    Returns:
        One dict per group, in first-seen order: ``preset``, ``model``, ``seeds`` (their list), and
        for every numeric column ``{col: "m ± s"}`` plus raw ``{col}__mean`` / ``{col}__std`` floats.
        Columns that are equal for every seed (parameter counts) stay plain numbers.
    """
    groups: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = {}
    for s in summaries:
        for row in s.get("table", []):
            groups.setdefault((str(s.get("preset")), str(row.get("model"))), []).append((s.get("seed"), row))
    out = []
    for (preset, model), items in groups.items():
        rec: dict[str, Any] = {"preset": preset, "model": model, "seeds": [seed for seed, _ in items]}
        cols = [c for c in items[0][1] if c != "model"]
        for col in cols:
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


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """The aggregated rows as a markdown table (``seeds`` shown as ``n``)."""
    if not rows:
        return "(no finished runs)\n"
    cols = _columns(rows)
    head = ["n" if c == "seeds" else c for c in cols]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" if c in ("preset", "model") else "---:"
                                                            for c in cols) + "|"]
    for r in rows:
        cells = [str(len(r["seeds"])) if c == "seeds" else _fmt(r.get(c)) for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)


def write_tables(sweep_dir: Path, rows: Sequence[dict[str, Any]], info: dict[str, Any]) -> None:
    """``results.md`` (title, command, table) and ``results.csv`` (means and stds as separate columns)."""
    from qtrain.train.checkpoint import atomic_write_text

    cmd = (f"qtrain sweep {info['recipe']} --presets {','.join(info['presets'])} "
           f"--seeds {','.join(map(str, info['seeds']))}" + "".join(f" --set {o}" for o in info["overrides"]))
    text = (f"# Sweep of `{info['recipe']}`\n\nCommand: `{cmd}`\n\nmean ± std over seeds (sample std; "
            f"0.00 with one seed)\n\n{markdown_table(rows)}")
    atomic_write_text(sweep_dir / "results.md", text)
    buf = io.StringIO()
    keys = {k: None for r in rows for k in r}
    cols = [c for c in keys if c != "seeds" and f"{c}__mean" not in keys]  # numbers, not "m ± s" strings
    names = ["preset", "model", "n"] + [c for c in cols if c not in ("preset", "model")]
    writer = csv.DictWriter(buf, fieldnames=names)
    writer.writeheader()
    for r in rows:
        writer.writerow({**{c: r.get(c) for c in cols}, "n": len(r["seeds"])})
    atomic_write_text(sweep_dir / "results.csv", buf.getvalue())

