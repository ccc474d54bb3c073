"""Run folders: ``runs/<recipe>__<preset>__s<seed>__<YYYYmmdd-HHMMSS>/``.

Layout: ``run.json`` (recipe, preset, seed, overrides, SHA-256 of ``config.yaml``), ``config.yaml``
(the full config), ``metrics.jsonl`` (one JSON line per epoch and model), ``summary.json``,
``checkpoints/<tag>/`` (``last.pt``, ``best.pt``), ``model.safetensors``, ``*.png`` plots and
``.lock`` (held by the process training in the folder).

Every file is written atomically (temporary file + rename) with the mode of an ordinary new file;
JSON is strict (NaN/inf as ``null``, listed under ``"nonfinite"``); ``metrics.jsonl`` is appended
line by line, and a line cut short by a crash is dropped when the folder is read or repaired.
"""
from __future__ import annotations

import contextlib
import json
import os
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import torch

from qtrain._fileio import atomic_write_json, atomic_write_text, clean_stale_temps, clip, file_mode, strict_json

__all__ = ["RunDir", "RunFolderError", "peak_memory", "INFO_FIELDS"]

INFO_FIELDS: dict[str, type] = {"recipe": str, "preset": str, "seed": int}
"""Keys ``run.json`` must hold, with their types."""


class RunFolderError(ValueError):
    """A run folder cannot be created, is damaged, or is in use by another process."""


@dataclass(frozen=True)
class RunDir:
    """A run folder and the names of the files in it."""

    path: Path

    @classmethod
    def create(cls, out: str | Path, recipe: str, preset: str, seed: int, now: float | None = None) -> RunDir:
        """Make a fresh ``<out>/<recipe>__<preset>__s<seed>__<time>`` folder (``-2``, ``-3``... if taken).

        Raises:
            RunFolderError: ``out`` cannot hold folders (not a directory, no permission, ...).
        """
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
        base = Path(out) / f"{recipe}__{preset}__s{seed}__{stamp}"
        path, k = base, 1
        while True:
            try:
                path.mkdir(parents=True, exist_ok=False)
                return cls(path)
            except FileExistsError:
                if not path.is_dir():
                    raise RunFolderError(f"out={str(out)!r} cannot hold run folders: {str(path)!r} exists and is "
                                         "not a folder; pass --out <a writable folder>") from None
                k += 1
                path = base.with_name(f"{base.name}-{k}")
            except OSError as exc:
                raise RunFolderError(f"out={str(out)!r} cannot hold run folders ({exc.strerror or exc}); pass "
                                     "--out <a writable folder>, e.g. --out runs") from None

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

    @property
    def lock_path(self) -> Path:
        """``.lock``: locked (``flock``) while a process trains in the folder; holds its pid."""
        return self.path / ".lock"

    def checkpoint_dir(self, tag: str) -> Path:
        """Checkpoints of the model trained under ``tag``."""
        return self.path / "checkpoints" / tag

    # ----------------------------------------------------------------- lock and repair
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold ``.lock`` for the duration: a second process training in this folder is refused.

        Raises:
            RunFolderError: another process holds the lock (its pid is in the message).
        """
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no flock; folders are not locked there
            yield
            return
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, file_mode())
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                raise RunFolderError(f"run folder {str(self.path)!r} is in use by another qtrain process (pid {pid}); "
                                     "two processes must not train in one folder: wait for it to finish or stop "
                                     "it, then --resume") from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def repair(self) -> list[str]:
        """Before a resume (lock held): remove temporary files of killed writers, drop a cut-off metrics line.

        Returns:
            One line per thing repaired (empty if nothing was).
        """
        done = [f"removed stale temporary file {p.relative_to(self.path)}" for p in clean_stale_temps(self.path)]
        records, ragged = self._parse_metrics()
        if ragged:
            atomic_write_text(self.metrics_path, "".join(strict_json(r) + "\n" for r in records))
            done.append("rewrote metrics.jsonl, whose last line was cut short by a crash")
        return done

    # ----------------------------------------------------------------- run.json
    def write_info(self, info: dict[str, Any]) -> None:
        """Write ``run.json``."""
        atomic_write_json(self.info_path, info)

    def read_info(self) -> dict[str, Any]:
        """Read and check ``run.json`` (a JSON object with ``recipe``, ``preset`` and ``seed``).

        Raises:
            RunFolderError: the file is not JSON or lacks a field (names the file and the problem).
        """
        where = f"run folder {str(self.path)!r}: run.json"
        try:
            info = json.loads(self.info_path.read_bytes())
        except (ValueError, UnicodeDecodeError) as exc:
            raise RunFolderError(f"{where} is not valid JSON ({clip(str(exc), 100)}); the file is damaged, "
                                 "start a new run") from None
        if not isinstance(info, dict):
            raise RunFolderError(f"{where} holds a {type(info).__name__}, not an object; start a new run")
        bad = [f"{k!r} ({t.__name__})" for k, t in INFO_FIELDS.items()
               if not isinstance(info.get(k), t) or isinstance(info.get(k), bool)]
        if bad:
            keys = clip(str(sorted(map(str, info))), 120)
            raise RunFolderError(f"{where} has no valid {', '.join(bad)}; it holds keys {keys}; the file is damaged, "
                                 "start a new run")
        return info

    # ----------------------------------------------------------------- metrics.jsonl
    def append_metrics(self, record: dict[str, Any]) -> None:
        """Append one strict-JSON line to ``metrics.jsonl``."""
        line = strict_json(record) + "\n"
        fd = os.open(self.metrics_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, file_mode())
        with os.fdopen(fd, "w") as fh:
            fh.write(line)

    def _parse_metrics(self) -> tuple[list[dict[str, Any]], bool]:
        if not self.metrics_path.is_file():
            return [], False
        text = self.metrics_path.read_bytes().decode(errors="replace")
        lines = text.split("\n")
        records, ragged = [], bool(text) and not text.endswith("\n")  # a write cut short by a crash
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                ok = isinstance(rec, dict)
            except ValueError:
                ok = False
            if ok:
                records.append(rec)
            elif not (ragged and i == len(lines) - 1):
                raise RunFolderError(f"run folder {str(self.path)!r}: line {i + 1} of metrics.jsonl is not a JSON "
                                     f"object ({clip(line, 60)}); the file is damaged; delete that line to go on")
        return records, ragged

    def read_metrics(self) -> list[dict[str, Any]]:
        """All records of ``metrics.jsonl`` (``[]`` if none yet; a last line cut short by a crash is skipped)."""
        return self._parse_metrics()[0]

    def filter_metrics(self, keep: Callable[[dict[str, Any]], bool]) -> None:
        """Rewrite ``metrics.jsonl`` with the records ``keep`` accepts (drops lines a resume will redo)."""
        kept = [r for r in self.read_metrics() if keep(r)]
        atomic_write_text(self.metrics_path, "".join(strict_json(r) + "\n" for r in kept))

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
