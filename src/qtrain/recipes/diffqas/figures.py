"""Figures of the DiffQAS-QT recipes (matplotlib, Agg backend, imported lazily).

* :func:`plot_predictions` -- Figs. 8-12: predictions over the whole series at several epochs, the
  train/test boundary as a red dashed line, the ground truth dashed.
* :func:`plot_returns` -- Figs. 13-14: moving average +- std of episodic returns per model.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from qtrain._optional import require

__all__ = ["plot_predictions", "plot_returns", "moving_stats"]


def _pyplot() -> Any:
    matplotlib = require("matplotlib", "plot", "DiffQAS figures")
    matplotlib.use("Agg", force=True)
    return require("matplotlib.pyplot", "plot", "DiffQAS figures")


def plot_predictions(snapshots: Mapping[str, Any], path: str | Path, model: str | None = None) -> Path:
    """One panel per saved epoch of ``model`` (default: the search, else the first model).

    Args:
        snapshots: ``predictions.json`` of a ``diffqas_series`` run (``truth``, ``n_train``, ``models``).
        path: the PNG to write.
        model: the model tag whose predictions are drawn.
    """
    plt = _pyplot()
    models = snapshots.get("models", {})
    tag = model or ("diffqas" if "diffqas" in models else next(iter(models), None))
    epochs = sorted(models.get(tag, {}), key=int) if tag else []
    fig, axes = plt.subplots(1, max(len(epochs), 1), figsize=(4 * max(len(epochs), 1), 3.2), squeeze=False)
    truth = snapshots.get("truth", [])
    for ax, epoch in zip(axes[0], epochs or [None]):
        ax.plot(truth, "--", color="tab:orange", label="ground truth")
        if epoch is not None:
            ax.plot(models[tag][epoch], color="tab:blue", lw=1, label=f"{tag} prediction")
            ax.set_title(f"{snapshots.get('dataset', '')}: epoch {epoch}", fontsize=9)
        ax.axvline(snapshots.get("n_train", 0), color="red", ls="--", lw=1)
        ax.set_xlabel("window")
        ax.legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def moving_stats(values: Sequence[float], window: int) -> tuple[np.ndarray, np.ndarray]:
    """Moving mean and std over the last ``window`` values (fewer at the start): each ``(len(values),)``."""
    v = np.asarray(values, dtype=np.float64)
    if window < 1:
        raise ValueError(f"window={window!r} must be >= 1")
    c1 = np.concatenate([[0.0], np.cumsum(v)])
    c2 = np.concatenate([[0.0], np.cumsum(v * v)])
    hi = np.arange(1, len(v) + 1)
    lo = np.maximum(hi - window, 0)
    n = hi - lo
    mean = (c1[hi] - c1[lo]) / n
    var = np.maximum((c2[hi] - c2[lo]) / n - mean**2, 0.0)
    return mean, np.sqrt(var)


def plot_returns(returns: Mapping[str, Sequence[float]], path: str | Path, window: int, title: str = "") -> Path:
    """Moving average +- std of each model's episodic returns (Figs. 13-14)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for tag, values in returns.items():
        if not len(values):
            continue
        mean, std = moving_stats(values, window)
        x = np.arange(1, len(values) + 1)
        ax.plot(x, mean, lw=1.2, label=tag, color="black" if tag in ("diffqas", "DiffQAS") else None)
        ax.fill_between(x, mean - std, mean + std, alpha=0.12)
    ax.set_xlabel("episode")
    ax.set_ylabel(f"return (moving average over {window})")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
