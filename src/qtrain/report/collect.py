"""Read run folders into flat per-model entries and aggregate them over seeds next to the paper.

An *entry* is one trained model of one run: dataset key (``mnist``/``fashion``/``cifar10``), model
tag (``classical``/``qt``/``qcml``), QNN blocks and ansatz, seed, final train/test accuracy and
gap, trainable parameters and its per-epoch ``metrics.jsonl`` records.

Example:
    >>> runs = find_runs("runs/sweep__qt_image__20250101-000000")     # doctest: +SKIP
    >>> rows = ours_vs_paper(entries_of(runs))                        # doctest: +SKIP
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import yaml

from qtrain.report.paper import dataset_key, paper_row

SYNTHETIC = ("cifar10_synthetic",)
"""Datasets of generated images: their rows show the paper's parameter count but no accuracy to compare."""

__all__ = ["SYNTHETIC", "Run", "Entry", "find_runs", "load_run", "entries_of", "group_entries", "ours_vs_paper",
           "mean_std"]


@dataclass
class Run:
    """One run folder: its ``run.json``, ``config.yaml``, ``summary.json`` and ``metrics.jsonl``."""

    path: Path
    info: dict[str, Any]
    config: dict[str, Any]
    summary: dict[str, Any] | None
    metrics: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Entry:
    """One trained model of a run (see the module docstring)."""

    run: Run
    key: str
    tag: str
    blocks: int | None
    ansatz: str | None
    seed: int
    result: dict[str, Any]

    @property
    def group(self) -> tuple[str, str, str, int | None, str | None]:
        """(dataset, data label, tag, blocks, ansatz): entries of one group differ only by seed."""
        return (self.key, self.data_label, self.tag, self.blocks, self.ansatz)

    @property
    def data_label(self) -> str:
        """``dataset n_train/n_test, E ep`` (epochs run; ``S steps`` when ``max_steps`` cut them short)."""
        c, r = self.run.config, self.result
        done = f"{r.get('steps')} steps" if c.get("max_steps") else f"{r.get('epochs_run')} ep"
        return f"{c.get('dataset')} {c.get('n_train')}/{c.get('n_test')}, {done}"

    @property
    def name(self) -> str:
        """Row name: ``Classical CNN``, ``QT-16`` (+ ansatz when not the paper's), ``QCML``."""
        if self.tag == "qt":
            return f"QT-{self.blocks}" + ("" if self.ansatz == "ry_cnot" else f" {self.ansatz}")
        return {"classical": "Classical CNN", "qcml": "QCML"}.get(self.tag, self.tag)

    @property
    def curve(self) -> list[dict[str, Any]]:
        """This model's per-epoch records."""
        return [r for r in self.run.metrics if r.get("model") == self.tag]


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


def entries_of(runs: Sequence[Run]) -> list[Entry]:
    """One :class:`Entry` per model of every finished ``qt_image``-style run (``summary["models"]``)."""
    out = []
    for run in runs:
        if not run.summary or not isinstance(run.summary.get("models"), dict):
            continue
        c = run.config
        key = dataset_key(c.get("dataset", "mnist5k"), c.get("data_dir"))
        for tag, res in run.summary["models"].items():
            qt = tag == "qt"
            out.append(Entry(run, key, tag, c.get("blocks") if qt else None, c.get("ansatz") if qt else None,
                             int(run.summary.get("seed", c.get("seed", 0))), res))
    return out


def group_entries(entries: Sequence[Entry]) -> dict[tuple, list[Entry]]:
    """Entries grouped by :attr:`Entry.group`, groups sorted by dataset, model kind and blocks.

    A model trained twice with the same seed and the same result (the classical CNN of a
    ``models=both`` run and of a classical-only run) counts once, so seeds are not double-counted.
    """
    order = {"classical": 0, "qt": 1, "qcml": 2}
    groups: dict[tuple, list[Entry]] = {}
    seen: set[tuple] = set()
    for e in entries:
        ident = (e.group, e.seed, e.result.get("test_acc"), e.result.get("train_acc"))
        if ident not in seen:
            seen.add(ident)
            groups.setdefault(e.group, []).append(e)
    return dict(sorted(groups.items(), key=lambda kv: (kv[0][0], order.get(kv[0][2], 9), kv[0][3] or 0,
                                                        kv[0][4] or "", kv[0][1])))


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    n = len(values)
    m = sum(values) / n
    return m, (math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0)


def _pm(values: list[float]) -> str:
    if not values:
        return "-"
    m, s = mean_std(values)
    return f"{m:.2f} ± {s:.2f}"


def _pick(group: Sequence[Entry], key: str) -> list[float]:
    """``100 * result[key]`` of the entries that have it (accuracies and gaps in %)."""
    return [100 * e.result[key] for e in group if isinstance(e.result.get(key), (int, float))]


def ours_vs_paper(entries: Sequence[Entry]) -> list[dict[str, Any]]:
    """Rows: dataset, data, model, seeds, trainable (ours, paper), train/test acc and gap (mean ± std, %), paper acc."""
    rows = []
    for (key, label, tag, blocks, ansatz), group in group_entries(entries).items():
        ref = paper_row(key, tag, blocks, ansatz or "ry_cnot")
        test = _pick(group, "test_acc")
        if group[0].run.config.get("dataset") in SYNTHETIC:  # generated images: the paper's accuracy does not apply
            ref = ref._replace(test_acc=None) if ref else None
        rows.append({
            "dataset": key, "data": label, "model": group[0].name, "seeds": len(group),
            "trainable": group[0].result.get("params", {}).get("trainable"),
            "paper params": ref.params if ref else None,
            "train acc %": _pm(_pick(group, "train_acc")), "test acc %": _pm(test),
            "gap (pts)": _pm(_pick(group, "gap")),
            "paper test acc %": ref.test_acc if ref and ref.test_acc is not None else None,
            "ours - paper": (f"{mean_std(test)[0] - ref.test_acc:+.2f}"
                             if ref and ref.test_acc is not None and test else None),
        })
    return rows
