"""Plotting helpers shared by the report and the recipes' report hooks (matplotlib, Agg, imported lazily).

:func:`plot_series` draws per-epoch ``metrics.jsonl`` series: one panel per key, one line per
(run, model). Recipe figures (a paper's Figs.) use :func:`pyplot`, :func:`panels` and :func:`save`,
which keep every figure readable in the report: a row of more than :data:`MAX_COLS` panels wraps
onto several lines, legends move outside the axes (they never cover data) and PNGs are written
at :data:`DPI` (a 5.2-inch panel is ~730 px wide, shown at that size by ``report.html``).
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any, Sequence

from qtrain._optional import require
from qtrain.report.collect import Run, is_number

__all__ = ["DPI", "MAX_COLS", "pyplot", "panels", "save", "plot_series"]

DPI = 140
"""Resolution of the report's PNGs."""
MAX_COLS = 2
"""Most panels side by side: more would be shrunk below a readable size on a 1,500-px page."""


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (``ImportError`` naming ``qtrain[plot]`` when missing)."""
    mpl = require("matplotlib", "plot", "report figures")
    mpl.use("Agg", force=True)
    return require("matplotlib.pyplot", "plot", "report figures")


def panels(n: int, rows: int = 1, width: float = 5.2, height: float = 3.6) -> tuple[Any, Any, Any]:
    """``(plt, fig, axes)`` with ``rows x n`` panels; ``axes[row][col]`` always 2-D.

    A single row of more than :data:`MAX_COLS` panels is laid out on several lines of
    :data:`MAX_COLS` (``axes`` keeps its ``(1, n)`` shape; unused cells are hidden).
    """
    plt = pyplot()
    if rows == 1 and n > MAX_COLS:
        lines = math.ceil(n / MAX_COLS)
        fig, grid = plt.subplots(lines, MAX_COLS, figsize=(width * MAX_COLS, height * lines), squeeze=False)
        cells = [ax for line in grid for ax in line]
        for ax in cells[n:]:
            ax.set_visible(False)
        return plt, fig, _axes_array([cells[:n]])
    fig, axes = plt.subplots(rows, n, figsize=(width * n, height * rows), squeeze=False)
    return plt, fig, axes


def _axes_array(rows: list[list[Any]]) -> Any:
    """A 2-D object array of axes (what ``plt.subplots(squeeze=False)`` returns)."""
    import numpy as np

    out = np.empty((len(rows), len(rows[0])), dtype=object)
    for i, row in enumerate(rows):
        for j, ax in enumerate(row):
            out[i, j] = ax
    return out


def _legends_outside(fig: Any) -> None:
    """Move each axes' legend to the right of its axes (same entries, at least 8 pt), so no line is hidden."""
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        handles, labels = ax.get_legend_handles_labels()
        if not handles:
            continue
        size = max(8.0, float(legend.get_texts()[0].get_fontsize()) if legend.get_texts() else 8.0)
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                  fontsize=size, frameon=False)


def save(plt: Any, fig: Any, path: Path, dpi: int = DPI) -> Path:
    """Legends outside the axes, tight layout, write the PNG (at least :data:`DPI`), close the figure."""
    _legends_outside(fig)
    with warnings.catch_warnings():  # tight_layout may not fit outside legends; bbox_inches="tight" below does
        warnings.simplefilter("ignore", UserWarning)
        fig.tight_layout()
    fig.savefig(path, dpi=max(dpi, DPI), bbox_inches="tight")
    plt.close(fig)
    return path


def _label(run: Run, model: str | None, n_runs: int) -> str:
    tag = model if model is not None else "model"
    return f"{run.name}: {tag}" if n_runs > 1 else tag


def plot_series(runs: Sequence[Run], keys: Sequence[str], path: Path, title: str = "") -> Path | None:
    """Per-epoch curves of ``keys`` (a panel each, :data:`MAX_COLS` per row), one line per (run, model tag).

    Returns ``None`` (no file) when no run has a numeric value of any key.
    """
    found = [k for k in keys if any(is_number(r.get(k)) for run in runs for r in run.epochs())]
    if not found:
        return None
    cols = min(MAX_COLS, len(found))
    plt, fig, axes = panels(cols, rows=math.ceil(len(found) / cols), height=3.4)
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
        ax.legend()
    for ax in flat[len(found):]:
        ax.set_visible(False)
    return save(plt, fig, path)
