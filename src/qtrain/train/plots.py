"""Loss/accuracy curves as PNG (matplotlib, Agg backend, imported lazily)."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Sequence

from qtrain._fileio import atomic_write
from qtrain._optional import require

__all__ = ["plot_curves"]


def plot_curves(records: Sequence[dict[str, Any]], path: str | Path, keys: Sequence[str] = ("loss", "acc"),
                group: str = "model") -> Path:
    """One panel per metric family (``train_loss``/``test_loss``..., ``train_acc``/...), one line per model.

    Args:
        records: ``metrics.jsonl`` records with ``epoch``, ``group`` and metric keys.
        path: the PNG to write.
        keys: metric suffixes; a panel shows every ``<split>_<key>`` present.
        group: the record field naming the curve's model.

    Raises:
        ImportError: matplotlib is missing (``pip install "qtrain[plot]"``).
    """
    matplotlib = require("matplotlib", "plot", "loss/accuracy plots")
    matplotlib.use("Agg", force=True)
    plt = require("matplotlib.pyplot", "plot", "loss/accuracy plots")
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.6), squeeze=False)
    tags = list(dict.fromkeys(r.get(group, "model") for r in records))
    for ax, key in zip(axes[0], keys):
        for tag in tags:
            rows = [r for r in records if r.get(group, "model") == tag]
            for metric in sorted({k for r in rows for k in r if k.endswith(f"_{key}")}):
                pts = [(r["epoch"], r[metric]) for r in rows if r.get(metric) is not None]
                if pts:
                    ax.plot(*zip(*pts), marker="o", ms=3, label=f"{tag} {metric}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    return atomic_write(path, lambda fh: fh.write(buf.getvalue()))  # like every run file: whole, one mode
