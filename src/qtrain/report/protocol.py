"""Each run's protocol (data, epochs, settings, overrides) and its differences from the paper's.

A report puts a run next to a paper's numbers; that comparison only holds when the run followed
the paper's protocol. Every section of ``qtrain report`` therefore gets a protocol table (one row
per run) and, when a run differs from the paper, a caveat above its tables naming the differences.
The paper's protocol comes from the recipe's paper module (``<paper>/paper.py`` defines
``paper_protocol(recipe, config) -> PaperProtocol | None``); this layer only compares.

Example:
    >>> from pathlib import Path
    >>> from qtrain.report.collect import Run
    >>> paper = PaperProtocol("Table I: 50 epochs on 60,000 images", {"epochs": 50, "n_train": 60000, "lr": 1e-4})
    >>> run = Run(Path("runs/qt_image__mnist_qt16__s0__t"), {"preset": "mnist_qt16", "overrides": ["epochs=2"]},
    ...           {"epochs": 2, "n_train": 4000, "lr": 1e-4, "seed": 0}, {}, [{"model": "qt", "epoch": 2, "step": 64}])
    >>> differences(run, paper)
    ['epochs 2 (paper 50)', 'n_train 4000 (paper 60000)']
    >>> row = protocol_row(run, paper)
    >>> row["epochs"], row["overrides"], row["vs paper"]
    ('2 of 2 (64 steps)', 'epochs=2', 'differs: epochs 2 (paper 50); n_train 4000 (paper 60000)')
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from qtrain.report.collect import Run, is_number
from qtrain.report.section import Table

__all__ = ["PaperProtocol", "ProtocolLookup", "DATA_KEYS", "SETTING_KEYS", "differences", "protocol_row",
           "protocol_table", "caveat"]

DATA_KEYS = ("dataset", "data", "system", "n_train", "n_val", "n_test", "n_per_key")
"""Config fields that say which data a run used (shown in the *data* column when the config has them)."""
SETTING_KEYS = ("models", "lr", "batch_size", "max_steps", "patience", "shots", "diff_method")
"""Config fields shown in the *settings* column when present (plus every key the paper's protocol fixes)."""


@dataclass(frozen=True)
class PaperProtocol:
    """What a paper's row was trained with.

    Attributes:
        source: one line: the paper, table and setting (``"Liu et al., Table I: full MNIST, 50 epochs"``).
        settings: config field -> the paper's value; a run whose config differs in any of them is flagged.
            ``None`` as a value means "not set" (``max_steps: None``: the paper ran whole epochs); a
            ``frozenset`` lists values that all match the paper (``{"mnist", "idx"}``).
    """

    source: str
    settings: Mapping[str, Any] = field(default_factory=dict)


ProtocolLookup = Callable[[str, Mapping[str, Any]], "PaperProtocol | None"]
"""``(recipe, run config) -> PaperProtocol | None`` (``None``: the run has no paper counterpart)."""


def _same(a: Any, b: Any) -> bool:
    if isinstance(b, (set, frozenset)):  # the paper's protocol allows any of these values
        return any(_same(a, x) for x in b)
    if is_number(a) and is_number(b):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=0.0)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _show(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, (set, frozenset)):
        return " or ".join(sorted(_show(x) for x in v))
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_show(x) for x in v) + "]"
    return f"{v:g}" if isinstance(v, float) else str(v)


def differences(run: Run, paper: PaperProtocol) -> list[str]:
    """``"<field> <ours> (paper <theirs>)"`` for every field of ``paper.settings`` the run's config differs in."""
    return [f"{key} {_show(run.config.get(key))} (paper {_show(want)})" for key, want in paper.settings.items()
            if not _same(run.config.get(key), want)]


def _epochs(run: Run) -> str:
    """``"<epochs run> of <configured> (<steps> steps)"`` from ``metrics.jsonl`` and the config."""
    records = run.epochs()
    ran = max((int(r["epoch"]) for r in records if is_number(r.get("epoch"))), default=0)
    steps = max((int(r["step"]) for r in records if is_number(r.get("step"))), default=None)
    planned = run.config.get("epochs")
    text = f"{ran} of {planned}" if planned is not None else str(ran)
    return text + (f" ({steps:,} steps)" if steps is not None else "")


def _pairs(config: Mapping[str, Any], keys: Sequence[str]) -> str:
    return ", ".join(f"{k}={_show(config[k])}" for k in keys if k in config) or "-"


def protocol_row(run: Run, paper: PaperProtocol | None) -> dict[str, Any]:
    """One row of the protocol table: run, preset, seed, data, epochs, settings, overrides, vs paper, compute
    (the resolved device, precision and processes)."""
    cfg = run.config
    extra = [k for k in (paper.settings if paper else {}) if k not in DATA_KEYS and k not in SETTING_KEYS
             and k != "epochs"]
    diffs = differences(run, paper) if paper is not None else []
    verdict = "-" if paper is None else ("differs: " + "; ".join(diffs) if diffs else "as paper")
    overrides = run.info.get("overrides") or []
    return {"run": run.name, "preset": run.info.get("preset", "-"), "seed": cfg.get("seed", run.info.get("seed")),
            "data": _pairs(cfg, DATA_KEYS), "epochs": _epochs(run), "settings": _pairs(cfg, [*SETTING_KEYS, *extra]),
            "overrides": ", ".join(overrides) if overrides else "-", "vs paper": verdict,
            "compute": _compute(run.info.get("compute"))}


def _compute(compute: Mapping[str, Any] | None) -> str:
    """``"cuda:0, bf16, 2 processes"`` from run.json's resolved ``compute`` (``-`` for runs made before it)."""
    if not compute:
        return "-"
    nproc = int(compute.get("nproc", 1))
    return f"{compute['device']}, {compute['precision']}" + (f", {nproc} processes" if nproc > 1 else "")


def protocol_table(recipe: str, runs: Sequence[Run], lookup: ProtocolLookup | None) -> Table:
    """The protocol of every run of ``recipe``; the note names the paper protocol(s) compared with."""
    papers = [lookup(recipe, r.config) if lookup is not None else None for r in runs]
    sources = list(dict.fromkeys(p.source for p in papers if p is not None))
    note = ("Paper protocol: " + " | ".join(sources) + ".") if sources else "No paper protocol to compare with."
    return Table("Protocol of each run", [protocol_row(r, p) for r, p in zip(runs, papers)],
                 note + " Overrides: the run's --set values (run.json); epochs: run of planned.")


def caveat(recipe: str, runs: Sequence[Run], lookup: ProtocolLookup | None) -> list[str]:
    """A warning when any run differs from its paper's protocol: the sentence, then one line per distinct
    set of differences naming its runs (``[]`` when no run differs)."""
    if lookup is None:
        return []
    groups: dict[str, list[str]] = {}
    for run in runs:
        paper = lookup(recipe, run.config)
        diffs = differences(run, paper) if paper is not None else []
        if diffs:
            groups.setdefault("; ".join(diffs), []).append(run.name)
    if not groups:
        return []
    n = sum(len(names) for names in groups.values())
    return [f"Protocol differs from the paper's in {n} of {len(runs)} run(s), so the paper columns below are not "
            "a like-for-like comparison:"] + [f"{diffs} ({', '.join(names)})" for diffs, names in groups.items()]
