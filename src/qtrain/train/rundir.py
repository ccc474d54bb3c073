"""Run folders: ``runs/<recipe>__<preset>__s<seed>__<YYYYmmdd-HHMMSS>/``.

Layout: ``run.json`` (recipe, preset, seed, overrides), ``config.yaml`` (the full config),
``metrics.jsonl`` (one JSON line per epoch and model), ``summary.json``, ``checkpoints/<tag>/``
(``last.pt``, ``best.pt``), ``model.safetensors`` and ``*.png`` plots.
"""
from __future__ import annotations

import json
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from qtrain.train.checkpoint import atomic_write_json, atomic_write_text

__all__ = ["RunDir", "peak_memory"]


@dataclass(frozen=True)
class RunDir:
    """A run folder and the names of the files in it."""

    path: Path

    @classmethod
    def create(cls, out: str | Path, recipe: str, preset: str, seed: int, now: float | None = None) -> RunDir:
        """Make a fresh ``<out>/<recipe>__<preset>__s<seed>__<time>`` folder (``-2``, ``-3``... if taken)."""
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
        base = Path(out) / f"{recipe}__{preset}__s{seed}__{stamp}"
        path, k = base, 1
        while True:
            try:
                path.mkdir(parents=True, exist_ok=False)
                return cls(path)
            except FileExistsError:
                k += 1
                path = base.with_name(f"{base.name}-{k}")

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """An existing run folder (must hold ``run.json``)."""
        rd = cls(Path(path))
        if not rd.info_path.is_file():
            raise FileNotFoundError(f"run_dir={str(path)!r} is not a qtrain run folder (no run.json); "
                                    "pass a folder created by `qtrain run`, e.g. runs/qt_image__mnist5k_demo__s0__...")
        return rd

    @property
    def info_path(self) -> Path:
        """``run.json``: recipe, preset, seed and overrides of the run."""
        return self.path / "run.json"

    @property
    def config_path(self) -> Path:
        """``config.yaml``: the full validated config."""
        return self.path / "config.yaml"

    @property
    def metrics_path(self) -> Path:
        """``metrics.jsonl``: one JSON object per epoch and model."""
        return self.path / "metrics.jsonl"

    @property
    def summary_path(self) -> Path:
        """``summary.json``: parameter counts, final metrics, wall time, peak memory."""
        return self.path / "summary.json"

    def checkpoint_dir(self, tag: str) -> Path:
        """Checkpoints of the model trained under ``tag``."""
        return self.path / "checkpoints" / tag

    def write_info(self, info: dict[str, Any]) -> None:
        """Write ``run.json``."""
        atomic_write_json(self.info_path, info)

    def read_info(self) -> dict[str, Any]:
        """Read ``run.json``."""
        return json.loads(self.info_path.read_text())

    def append_metrics(self, record: dict[str, Any]) -> None:
        """Append one JSON line to ``metrics.jsonl``."""
        with self.metrics_path.open("a") as fh:
            fh.write(json.dumps(record) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        """All records of ``metrics.jsonl`` (``[]`` if none yet)."""
        if not self.metrics_path.is_file():
            return []
        return [json.loads(line) for line in self.metrics_path.read_text().splitlines() if line.strip()]

    def filter_metrics(self, keep: Callable[[dict[str, Any]], bool]) -> None:
        """Rewrite ``metrics.jsonl`` with the records ``keep`` accepts (drops lines a resume will redo)."""
        kept = [r for r in self.read_metrics() if keep(r)]
        atomic_write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in kept))

    def write_summary(self, summary: dict[str, Any]) -> None:
        """Write ``summary.json``."""
        atomic_write_json(self.summary_path, summary)


def peak_memory() -> dict[str, float]:
    """Peak resident memory of this process (MiB) and, on CUDA, peak allocated GPU memory (MiB)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_mib = rss / 2**20 if sys.platform == "darwin" else rss / 2**10  # bytes on macOS, KiB on Linux
    out = {"cpu_max_rss_mib": round(rss_mib, 1)}
    if torch.cuda.is_available():
        out["cuda_max_allocated_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return out
