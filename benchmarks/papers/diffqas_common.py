"""Helpers of the DiffQAS-QT benchmark scripts: resumable recipe runs, their metrics, mean +- std text.

A protocol is a list of (recipe, preset, seed, overrides). :func:`run_or_resume` runs one through the
real recipe runner, or resumes the newest unfinished run folder of the same recipe, preset and seed
(a benchmark killed at any point continues where it stopped), or returns the finished summary.
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any, Iterable, Sequence

from qtrain.recipes import run

__all__ = ["RESULTS", "run_or_resume", "merge_runs", "add_variant_args", "read_metrics", "mean_std", "fmt_mean_std",
           "load_json", "save_json"]

RESULTS = Path(__file__).resolve().parents[1] / "results"


def _folders(out: Path, recipe: str, preset: str, seed: int) -> list[Path]:
    return sorted(out.glob(f"{recipe}__{preset}__s{seed}__*"), key=lambda p: p.stat().st_mtime)


def run_or_resume(recipe: str, preset: str, seed: int, overrides: Sequence[str], out: Path) -> dict[str, Any]:
    """``summary.json`` of the run (recipe, preset, seed, overrides), running or resuming it when needed.

    A finished folder is reused only when its overrides equal ``overrides`` (same protocol).
    """
    out.mkdir(parents=True, exist_ok=True)
    for folder in reversed(_folders(out, recipe, preset, seed)):
        info = json.loads((folder / "run.json").read_text()) if (folder / "run.json").is_file() else {}
        if info.get("overrides") != list(overrides):
            continue
        if (folder / "summary.json").is_file():
            return json.loads((folder / "summary.json").read_text())
        if (folder / "config.yaml").is_file():
            return run(None, resume=folder, quiet=True).summary
    return run(recipe, preset, list(overrides), seed=seed, out=out, quiet=True).summary


def merge_runs(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """``new`` with the models of ``old`` it did not train (same recipe, preset, seed and protocol).

    Lets a benchmark add rows (e.g. configurations skipped before) to a finished (preset, seed) entry
    without retraining the others: every model of a recipe run starts from the seed alone, so a model
    trained in another run of the same protocol is the model the first run would have trained (bit for
    bit in ``diffqas_series``; A3C's asynchronous workers are not deterministic in any run). Wall times
    add up; ``run_dir``
    stays the first run's (its figures), every folder is listed in ``run_dirs``.
    """
    if not old:
        return new
    differ = [k for k, v in new.items() if k not in ("run_dir", "wall_time_s", "models") and old.get(k, v) != v]
    if differ:
        raise ValueError(f"cannot add rows measured under another protocol: {', '.join(differ)} differ "
                         f"({', '.join(f'{old[k]!r} vs {new[k]!r}' for k in differ)}); use another --out/results")
    dirs = old.get("run_dirs", [old["run_dir"]]) + [new["run_dir"]]
    return {**old, **new, "models": {**old["models"], **new["models"]}, "run_dir": old["run_dir"], "run_dirs": dirs,
            "wall_time_s": old["wall_time_s"] + new["wall_time_s"]}


def add_variant_args(ap: argparse.ArgumentParser, name: str) -> None:
    """``--name`` (stem of the result files, default ``name``) and ``--set KEY=VALUE`` (repeatable: a
    recipe override for every run of a variant, saved in the results as ``overrides``)."""
    ap.add_argument("--name", default=name, help="stem of the result files (another protocol, another name)")
    ap.add_argument("--set", dest="extra", action="append", default=[], metavar="KEY=VALUE",
                    help="another recipe override for every run (a variant: give it its own --name)")


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """The epoch records of a run folder's ``metrics.jsonl``."""
    path = Path(run_dir) / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def mean_std(values: Iterable[float]) -> tuple[float, float]:
    """Mean and sample std (0 for a single value)."""
    v = list(values)
    return statistics.mean(v), statistics.stdev(v) if len(v) > 1 else 0.0


def fmt_mean_std(values: Iterable[float], scale: float = 1.0, digits: int = 2, sci: bool = False) -> str:
    """``"97.50 ± 0.40"`` (or ``"4.1e-05 ± 2.0e-06"`` with ``sci``); a single value has no ``±``."""
    v = [x * scale for x in values]
    if not v:
        return "-"
    m, s = mean_std(v)
    f = (lambda x: f"{x:.{digits}e}") if sci else (lambda x: f"{x:.{digits}f}")
    return f(m) if len(v) == 1 else f"{f(m)} ± {f(s)}"


def load_json(path: Path, default: Any) -> Any:
    """JSON from ``path`` or ``default`` when absent."""
    return json.loads(path.read_text()) if path.is_file() else default


def save_json(path: Path, data: Any) -> None:
    """Write JSON (indented) creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")
