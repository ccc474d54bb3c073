"""Grids of recipe runs (presets x option values x seeds), serially, in local processes or as Ray tasks.

The library behind ``qtrain sweep`` (its command-line part is :mod:`qtrain.cli.sweep`).
``qtrain sweep qt_image --presets mnist_qt16,mnist_qt61 --seeds 0,1,2 --set lr=1e-3,1e-2 --jobs 2``
makes ``runs/sweep__qt_image__<time>/`` holding one run folder per (preset, point, seed), named
``qt_image__mnist_qt16-lr=1e-3__s0__<time>``; ``sweep.json`` (the grid, the overrides and every
run's outcome); and the table over seeds: ``results.md`` and ``results.csv`` with mean ± std
(sample standard deviation, n - 1) of every numeric column of the recipe's results table, one row
per (preset, point, model).

Grid axes: an override whose value holds commas (``--set lr=1e-3,1e-2``) is one axis per key; the
grid is their product. For a list-valued field (``mapping_hidden``, ``loggers``) commas separate
the list's items, and a grid over lists needs brackets: ``--set mapping_hidden=[4,20,4],[8,8]``.

Execution: serially in this process (``jobs=1``); in ``jobs`` local worker processes (spawned,
each with ``threads_per_job`` torch threads, default 1, so that N small runs share the cores
instead of fighting over them); or, with ``use_ray``, each run a ``ray.remote`` task on a local Ray
instance or the cluster at ``address`` (``pip install "qtrain[dist]"``; every node needs qtrain
and the data). Summaries come back to this process and are written into the sweep folder, so the
table is complete even when Ray workers do not share a disk.

Example:
    >>> expand_grid("qt_image", ["epochs=2", "lr=1e-3,1e-2", "mapping_hidden=4,20,4"])
    (['epochs=2', 'mapping_hidden=4,20,4'], [('lr', ['1e-3', '1e-2'])])
    >>> [p.label for p in grid_points([("lr", ["1e-3", "1e-2"]), ("bits", ["01", "pm1"])])][:3]
    ['lr=1e-3,bits=01', 'lr=1e-3,bits=pm1', 'lr=1e-2,bits=01']
    >>> res = sweep("qt_image", ["mnist_qt16"], [0, 1], ["max_steps=2", "lr=1e-3,1e-2"], jobs=2)  # doctest: +SKIP
"""
from __future__ import annotations

import itertools
import math
import time
import typing
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from qtrain.sweep_tables import aggregate, collect_summaries, markdown_table, write_tables

__all__ = ["SweepResult", "SweepProgress", "GridPoint", "sweep", "aggregate", "collect_summaries", "markdown_table",
           "parse_list", "write_tables", "expand_grid", "grid_points", "split_values", "eta_text"]


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


@dataclass(frozen=True)
class SweepProgress:
    """Where a sweep stands after a run finished: ``done`` of ``total``, seconds so far and left."""

    done: int
    total: int
    elapsed_s: float
    eta_s: float


@dataclass(frozen=True)
class GridPoint:
    """One combination of the grid's axes: its ``key=value`` overrides and its label (``lr=1e-3,bits=01``)."""

    overrides: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The overrides joined by commas (``""`` for a grid without axes)."""
        return ",".join(self.overrides)


def parse_list(text: str, kind: type = str, name: str = "value") -> list[Any]:
    """``"a,b , c"`` -> ``["a", "b", "c"]`` (``kind=int`` for seeds); empty items are refused."""
    items = [t.strip() for t in str(text).split(",")]
    if not items or any(not t for t in items):
        raise ValueError(f"{name}={text!r} must be a comma-separated list without empty items, e.g. a,b,c")
    try:
        return [kind(t) for t in items]
    except ValueError:
        raise ValueError(f"{name}={text!r}: every item must be {kind.__name__} (e.g. 0,1,2)") from None


# ----------------------------------------------------------------------------- the grid
def split_values(text: str) -> list[str]:
    """Split at commas outside brackets and quotes: ``"[4,20,4],[8,8]"`` -> ``["[4,20,4]", "[8,8]"]``."""
    out, depth, quote, cur = [], 0, "", []
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    return out + ["".join(cur).strip()]


def _list_fields(recipe: str) -> set[str]:
    """Fields whose type is a list (``tuple[...]``, maybe ``| None``): commas there separate list items."""
    from qtrain.config import config_fields
    from qtrain.recipes.registry import get_recipe
    from qtrain.recipes.runner import RunOptions

    def is_list(tp: Any) -> bool:
        return typing.get_origin(tp) is tuple or any(is_list(a) for a in typing.get_args(tp)
                                                     if typing.get_origin(tp) is not tuple)

    infos = [*config_fields(get_recipe(recipe).config_cls), *config_fields(RunOptions)]
    return {i.name for i in infos if is_list(i.type)}


def expand_grid(recipe: str, overrides: Iterable[str]) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """``(fixed overrides, grid axes)``: an override with several comma-separated values is an axis.

    Raises:
        ValueError: an override that is not ``key=value``, an empty value in a list, or a key twice in the grid.
    """
    from qtrain.config import parse_override

    lists = _list_fields(recipe)
    fixed, axes = [], []
    for text in overrides:
        key, value = parse_override(text)
        values = split_values(value)
        if key in lists and not all(v.startswith(("[", "(")) for v in values):
            values = [value]  # a plain list value, e.g. mapping_hidden=4,20,4
        if len(values) == 1:
            fixed.append(text)
            continue
        if any(not v for v in values):
            raise ValueError(f"--set {text!r} has an empty value; grid values are comma-separated, e.g. lr=1e-3,1e-2")
        if key in dict(axes):
            raise ValueError(f"--set {key}=... gives grid values twice; put them in one --set {key}=a,b,c")
        axes.append((key, values))
    grid_keys = {k for k, _ in axes}  # a grid axis overrides a plain --set of the same key
    return [t for t in fixed if parse_override(t)[0] not in grid_keys], axes


def grid_points(axes: Sequence[tuple[str, Sequence[str]]]) -> list[GridPoint]:
    """Every combination of the axes' values, the first axis varying slowest (one empty point without axes)."""
    return [GridPoint(tuple(f"{k}={v}" for k, v in zip([a[0] for a in axes], combo)))
            for combo in itertools.product(*[a[1] for a in axes])]


def _folder_label(preset: str, point: GridPoint) -> str:
    """The middle of a run folder's name: the preset, then the point with path-unsafe characters replaced."""
    name = Path(preset).stem if preset.endswith((".yaml", ".yml")) else preset
    if not point.overrides:
        return name
    safe = "".join(c if c.isalnum() or c in "=.+-" else "_" for c in "-".join(point.overrides))
    return f"{name}-{safe}"[:120]


# ----------------------------------------------------------------------------- running
def _run_one(recipe: str, preset: str | None, overrides: list[str], seed: int, out: str,
             label: str | None = None) -> dict[str, Any]:
    """One grid point; returns its record (never raises: errors are recorded)."""
    import traceback

    from qtrain.recipes.runner import run

    t0 = time.perf_counter()
    try:
        res = run(recipe, preset=preset, overrides=overrides, seed=seed, out=out, quiet=True, label=label)
        return {"preset": preset, "seed": seed, "run_dir": str(res.run_dir), "summary": res.summary,
                "wall_s": round(time.perf_counter() - t0, 3)}
    except Exception as exc:  # a failed grid point must not cancel the others; it is reported
        return {"preset": preset, "seed": seed, "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=5), "wall_s": round(time.perf_counter() - t0, 3)}


def _init_worker(threads: int) -> None:
    """A worker process: ``threads`` torch threads (and for the OpenMP/MKL pools of anything it starts)."""
    import os

    import torch

    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    torch.set_num_threads(threads)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ImportError('--ray needs Ray: pip install "qtrain[dist]"') from exc
    return ray


def _run_ray(jobs: list[tuple[Any, ...]], address: str | None, cpus_per_run: float) -> list[dict[str, Any]]:
    ray = _import_ray()
    if not ray.is_initialized():
        ray.init(address=address) if address else ray.init()
    task = ray.remote(num_cpus=cpus_per_run)(_run_one)
    return list(ray.get([task.remote(*job) for job in jobs]))


Callback = Callable[[dict[str, Any], SweepProgress], None]


def _run_local(jobs: list[tuple[Any, ...]], n_jobs: int, threads: int, on_run: Callback | None,
               labels: list[str]) -> list[dict[str, Any]]:
    """Serially (``n_jobs == 1``) or in ``n_jobs`` spawned processes; ``on_run`` after each finished run."""
    import multiprocessing

    records: list[dict[str, Any] | None] = [None] * len(jobs)
    t0 = time.perf_counter()

    def done(i: int, rec: dict[str, Any]) -> None:
        records[i] = {**rec, "point": labels[i]}
        n_done = sum(r is not None for r in records)
        elapsed = time.perf_counter() - t0
        eta = elapsed / n_done * (len(jobs) - n_done)
        if on_run is not None:
            on_run(records[i], SweepProgress(n_done, len(jobs), elapsed, eta))  # type: ignore[arg-type]

    if n_jobs == 1:
        for i, job in enumerate(jobs):
            done(i, _run_one(*job))
        return records  # type: ignore[return-value]
    ctx = multiprocessing.get_context("spawn")  # fork after torch's thread pools started can deadlock
    with ProcessPoolExecutor(max_workers=n_jobs, mp_context=ctx, initializer=_init_worker,
                             initargs=(threads,)) as pool:
        futures = {pool.submit(_run_one, *job): i for i, job in enumerate(jobs)}
        for fut in as_completed(futures):
            i = futures[fut]
            try:
                rec = fut.result()
            except Exception as exc:  # the worker process died (killed, out of memory)
                rec = {"preset": jobs[i][1], "seed": jobs[i][3], "error": f"worker process failed: {exc!r}"}
            done(i, rec)
    return records  # type: ignore[return-value]


def _check_grid(recipe: str, presets: Sequence[str | None], seeds: Sequence[int], fixed: list[str],
                points: Sequence[GridPoint]) -> None:
    """Build every config before running anything; raise once with all problems."""
    from qtrain.recipes.runner import load_run_config

    if not presets or not seeds:
        raise ValueError(f"presets={list(presets)} and seeds={list(seeds)} must both be non-empty, e.g. "
                         "--presets mnist_qt16,mnist_qt61 --seeds 0,1")
    problems = []
    for preset, point in itertools.product(dict.fromkeys(presets), points):
        try:
            load_run_config(recipe, preset, [*fixed, *point.overrides], seeds[0])
        except (ValueError, ImportError) as exc:
            where = f"preset {preset!r}" if preset else "defaults"
            problems.append(f"{where}{' with ' + point.label if point.label else ''}: {exc}")
    if problems:
        what = "preset(s)" if len(points) == 1 else "(preset, grid point) combination(s)"
        raise ValueError(f"sweep of {recipe!r} not started, {len(problems)} {what} do not build:\n"
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


def _check_parallel(use_ray: bool, jobs: int, threads_per_job: int) -> None:
    for name, value in (("jobs", jobs), ("threads_per_job", threads_per_job)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r} must be a positive integer")
    if use_ray and jobs != 1:
        raise ValueError(f"jobs={jobs} runs local worker processes; with use_ray Ray schedules the runs "
                         "(use cpus_per_run / --cpus-per-run), so drop one of them")
    if use_ray:
        _import_ray()  # fail before making the sweep folder


def sweep(recipe: str, presets: Sequence[str] | None = None, seeds: Sequence[int] = (0,),
          overrides: Iterable[str] = (), out: str | Path = "runs", use_ray: bool = False, address: str | None = None,
          cpus_per_run: float = 1.0, on_run: Callback | None = None, jobs: int = 1,
          threads_per_job: int = 1) -> SweepResult:
    """Run ``recipe`` for every (preset, grid point, seed) and write the table over seeds.

    Args:
        recipe: registered recipe name.
        presets: preset names (or YAML paths) of the recipe; ``None`` or empty: the recipe's defaults.
        seeds: seeds; each (preset, point) runs once per seed.
        overrides: ``key=value`` strings; several comma-separated values make a grid axis (see the module docstring).
        out: parent folder of the sweep folder.
        use_ray: run each grid point as a Ray task.
        address: Ray cluster address (``None``: start or join a local instance).
        cpus_per_run: CPUs Ray reserves per task.
        on_run: called with each run's record and the :class:`SweepProgress` as it finishes (not with Ray).
        jobs: local worker processes (1: serially in this process).
        threads_per_job: torch threads of each worker process (``jobs > 1``).

    Returns:
        :class:`SweepResult`; failed runs are listed in ``failures`` and in ``sweep.json``.

    Raises:
        ValueError: an unknown recipe, bad ``jobs``, or presets/points whose configs do not build (all
            listed; nothing runs).
    """
    from qtrain.train.checkpoint import atomic_write_json

    seeds, preset_list = [int(s) for s in seeds], list(presets) if presets else [None]
    fixed, axes = expand_grid(recipe, overrides)
    points = grid_points(axes)
    _check_parallel(use_ray, jobs, threads_per_job)
    _check_grid(recipe, preset_list, seeds, fixed, points)
    sweep_dir = _make_dir(out, recipe)
    info = {"recipe": recipe, "presets": [p or "default" for p in preset_list], "seeds": seeds, "overrides": fixed,
            "grid": {k: v for k, v in axes}, "jobs": jobs, "threads_per_job": threads_per_job, "ray": use_ray,
            "address": address, "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    atomic_write_json(sweep_dir / "sweep.json", info)
    combos = [(p, pt, s) for p in preset_list for pt in points for s in seeds]
    job_args = [(recipe, p, [*fixed, *pt.overrides], s, str(sweep_dir), _folder_label(p or "default", pt))
                for p, pt, s in combos]
    labels = [pt.label for _, pt, _ in combos]
    if use_ray:
        records = [{**r, "point": lab} for r, lab in zip(_run_ray(job_args, address, cpus_per_run), labels)]
    else:
        records = _run_local(job_args, jobs, threads_per_job, on_run, labels)
    for rec in records:  # Ray workers on other machines: keep a copy of each summary here
        if "summary" in rec:
            path = sweep_dir / Path(rec["run_dir"]).name / "summary.json"
            if not path.is_file():
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_json(path, rec["summary"])
    rows = aggregate([r["summary"] for r in records if "summary" in r], [k for k, _ in axes])
    write_tables(sweep_dir, rows, info)
    runs = [{k: v for k, v in r.items() if k != "summary"} for r in records]
    atomic_write_json(sweep_dir / "sweep.json", {**info, "runs": runs})
    return SweepResult(sweep_dir, rows, runs)


def eta_text(progress: SweepProgress) -> str:
    """``"3/8 runs, 1m02s elapsed, ETA 1m43s"``.

    Example:
        >>> eta_text(SweepProgress(3, 8, 62.0, 103.3))
        '3/8 runs, 1m02s elapsed, ETA 1m43s'
    """
    from qtrain.train.progress import format_duration

    eta = format_duration(progress.eta_s) if math.isfinite(progress.eta_s) else "?"
    return f"{progress.done}/{progress.total} runs, {format_duration(progress.elapsed_s)} elapsed, ETA {eta}"
