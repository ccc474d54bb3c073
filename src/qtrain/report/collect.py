"""Read run folders: ``run.json``, ``config.yaml``, ``summary.json`` and ``metrics.jsonl`` of each.

Nothing here knows a recipe: per-recipe tables come from the recipe's report hook
(:attr:`qtrain.recipes.Recipe.report`), which receives these :class:`Run` records.

Example:
    >>> runs = [load_run(p) for p in find_runs("runs/sweep__qt_image__20250101-000000")]   # doctest: +SKIP
    >>> sorted(runs_by_recipe(runs))                                                       # doctest: +SKIP
    ['qt_image']
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import yaml

__all__ = ["Run", "find_runs", "load_run", "runs_by_recipe", "series_keys", "is_number"]

_NOT_SERIES = frozenset({"epoch", "step"})
"""Record fields that index a series rather than measure something."""


@dataclass
class Run:
    """One run folder: its ``run.json``, ``config.yaml``, ``summary.json`` and ``metrics.jsonl``."""

    path: Path
    info: dict[str, Any]
    config: dict[str, Any]
    summary: dict[str, Any] | None
    metrics: list[dict[str, Any]] = field(default_factory=list)

    @property
    def recipe(self) -> str:
        """The recipe that made the run (``run.json``), ``"unknown"`` when it does not say."""
        return str(self.info.get("recipe") or "unknown")

    @property
    def name(self) -> str:
        """The run folder's name."""
        return self.path.name

    def epochs(self, model: str | None = None) -> list[dict[str, Any]]:
        """Per-epoch ``metrics.jsonl`` records (not ``kind: final`` lines), of one model tag if given."""
        return [r for r in self.metrics if "kind" not in r and (model is None or r.get("model") == model)]


def find_runs(path: str | Path) -> list[Path]:
    """Run folders (holding ``run.json``) at ``path``, inside it, or one level deeper (sweeps of sweeps)."""
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"path={str(root)!r} is not a folder; pass a run folder (qtrain run) or a sweep "
                                "folder (qtrain sweep)")
    if (root / "run.json").is_file():
        return [root]
    found = sorted({p.parent for pat in ("*/run.json", "*/*/run.json") for p in root.glob(pat)})
    if not found:
        raise FileNotFoundError(f"no run folders (with run.json) in {str(root)!r}; pass a folder made by "
                                "`qtrain run` or `qtrain sweep`")
    return found


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.is_file() else None


def load_run(path: Path) -> Run:
    """Read one run folder (a run still in progress has ``summary=None``)."""
    cfg = yaml.safe_load((path / "config.yaml").read_text()) if (path / "config.yaml").is_file() else {}
    metrics = []
    if (path / "metrics.jsonl").is_file():
        metrics = [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return Run(path, _read_json(path / "run.json") or {}, cfg or {}, _read_json(path / "summary.json"), metrics)


def runs_by_recipe(runs: Sequence[Run]) -> dict[str, list[Run]]:
    """Runs grouped by recipe name (names sorted, runs in the given order)."""
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(run.recipe, []).append(run)
    return dict(sorted(groups.items()))


def is_number(value: Any) -> bool:
    """A finite int or float (not a bool): something a table or a curve can show."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def series_keys(runs: Sequence[Run]) -> list[str]:
    """Every numeric field of the runs' per-epoch records (``epoch`` and ``step`` excluded), first-seen order."""
    keys: dict[str, None] = {}
    for run in runs:
        for record in run.epochs():
            keys.update((k, None) for k, v in record.items() if k not in _NOT_SERIES and is_number(v))
    return list(keys)
