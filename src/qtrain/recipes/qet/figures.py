"""The QET paper's figures from ``qet_amc`` rows (:mod:`qtrain.recipes.qet.report`): Fig. 4, Fig. 5, confusions.

Each function writes one PNG and returns its path, or ``None`` when the rows hold nothing to draw.
"""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from qtrain.report.plots import panels, save

__all__ = ["plot_acc_vs_snr", "plot_val_loss", "plot_confusions"]


def plot_acc_vs_snr(rows: dict[str, list[dict[str, Any]]], path: Path) -> Path | None:
    """Fig. 4: test accuracy (%) vs SNR, mean over seeds, one line per model (MLP mapping dashed)."""
    if not rows:
        return None
    plt, fig, axes = panels(1, width=6.5, height=4.2)
    ax = axes[0][0]
    for name, runs in rows.items():
        snrs = sorted(int(s) for s in runs[0]["acc_by_snr"])
        acc = [100 * statistics.fmean(r["acc_by_snr"][str(s)] for r in runs) for s in snrs]
        ax.plot(snrs, acc, marker="o", ms=3, ls="--" if name.startswith("QT-MLP") else "-", label=name)
    ax.set(xlabel="SNR (dB)", ylabel="test accuracy (%)", title="Accuracy vs SNR (QET Fig. 4 protocol)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(plt, fig, path, dpi=120)


def plot_val_loss(rows: dict[str, list[dict[str, Any]]], path: Path) -> Path | None:
    """Fig. 5: validation loss per epoch (log scale, first seed), MLP mapping vs Multimodel mapping."""
    names = [n for n in ("QT-MLP-17", "QET-6") if n in rows and rows[n][0]["epochs"]]
    if not names:
        return None
    plt, fig, axes = panels(1, width=6.0, height=4.0)
    ax = axes[0][0]
    for name in names:
        losses = [r["val_loss"] for r in rows[name][0]["epochs"]]
        kind = "MLP" if "MLP" in name else "Multimodel"
        ax.plot(range(1, len(losses) + 1), losses, marker="o", label=f"{name} ({kind} mapping)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set(xlabel="epoch", ylabel="validation loss (log scale)", yscale="log",
           title="MLP vs Multimodel mapping (QET Fig. 5 protocol)")
    ax.grid(alpha=0.3)
    ax.legend()
    return save(plt, fig, path, dpi=120)


def plot_confusions(rows: dict[str, list[dict[str, Any]]], path: Path) -> Path | None:
    """Row-normalised test confusion matrices at high SNR, MC-Net and QET-6 (else the first model), first seed."""
    import torch

    names = [n for n in ("MC-Net", "QET-6") if n in rows] or list(rows)[:1]
    if not names:
        return None
    mods = next(iter(rows.values()))[0]["data"]["mods"]
    plt, fig, axes = panels(len(names), width=5.2, height=4.6)
    for ax, name in zip(axes[0], names):
        run0 = rows[name][0]
        conf = torch.tensor(run0["confusion_high_snr"], dtype=torch.float64)
        norm = conf / conf.sum(1, keepdim=True).clamp_min(1)
        ax.imshow(norm.numpy(), cmap="Blues", vmin=0, vmax=1)
        ax.set_xticks(range(len(mods)), mods, rotation=90, fontsize=7)
        ax.set_yticks(range(len(mods)), mods, fontsize=7)
        ax.set(xlabel="predicted", ylabel="true", title=f"{name}, SNR >= {run0['confusion_min_snr']} dB")
    return save(plt, fig, path, dpi=120)
