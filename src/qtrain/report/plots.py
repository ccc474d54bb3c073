"""Plotting helpers shared by the report and the recipes' report hooks (matplotlib, Agg, imported lazily).

:func:`plot_series` draws per-epoch ``metrics.jsonl`` series: one panel per key, one line per
(run, model). Recipe figures (a paper's Figs.) use :func:`pyplot`, :func:`panels` and :func:`save`.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from qtrain._optional import require
from qtrain.report.collect import Run, is_number

__all__ = ["pyplot", "panels", "save", "plot_series"]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (``ImportError`` naming ``qtrain[plot]`` when missing)."""
    mpl = require("matplotlib", "plot", "report figures")
    mpl.use("Agg", force=True)
    return require("matplotlib.pyplot", "plot", "report figures")


def panels(n: int, rows: int = 1, width: float = 5.2, height: float = 3.6) -> tuple[Any, Any, Any]:
    """``(plt, fig, axes)`` with ``rows x n`` panels; ``axes[row][col]`` always 2-D."""
    plt = pyplot()
    fig, axes = plt.subplots(rows, n, figsize=(width * n, height * rows), squeeze=False)
    return plt, fig, axes


def save(plt: Any, fig: Any, path: Path, dpi: int = 110) -> Path:
    """Tight layout, write the PNG, close the figure."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def _label(run: Run, model: str | None, n_runs: int) -> str:
    tag = model if model is not None else "model"
    return f"{run.name}: {tag}" if n_runs > 1 else tag


def plot_series(runs: Sequence[Run], keys: Sequence[str], path: Path, title: str = "") -> Path | None:
    """Per-epoch curves of ``keys`` (a panel each, up to 3 per row), one line per (run, model tag).

    Returns ``None`` (no file) when no run has a numeric value of any key.
    """
    found = [k for k in keys if any(is_number(r.get(k)) for run in runs for r in run.epochs())]
    if not found:
        return None
    cols = min(3, len(found))
    plt, fig, axes = panels(cols, rows=math.ceil(len(found) / cols), height=3.2)
    flat = [ax for row in axes for ax in row]
    for ax, key in zip(flat, found):
        for run in runs:
            for model in dict.fromkeys(r.get("model") for r in run.epochs()):
                records = run.epochs(model)
                pts = [(r.get("epoch", i + 1), r[key]) for i, r in enumerate(records) if is_number(r.get(key))]
                if pts:
                    ax.plot(*zip(*pts), marker="o", ms=3, label=_label(run, model, len(runs)))
        ax.set(title=f"{title}: {key}" if title else key, xlabel="epoch", ylabel=key)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in flat[len(found):]:
        ax.set_visible(False)
    return save(plt, fig, path)
