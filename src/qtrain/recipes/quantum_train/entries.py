"""Per-model entries of ``qt_image`` runs: what the report's tables and figures aggregate over seeds.

An *entry* is one trained model of one run: dataset key (``mnist``/``fashion``/``cifar10``), model
tag (``classical``/``qt``/``qcml``), QNN blocks and ansatz, seed, final train/test accuracy and
gap, trainable parameters and its per-epoch ``metrics.jsonl`` records.

Example:
    >>> from qtrain.report import find_runs, load_run
    >>> runs = [load_run(p) for p in find_runs("runs/sweep__qt_image__20250101-000000")]   # doctest: +SKIP
    >>> groups = group_entries(entries_of(runs))                                           # doctest: +SKIP
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from qtrain.recipes.quantum_train.paper import dataset_key
from qtrain.report import Run

__all__ = ["Entry", "entries_of", "group_entries"]


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
