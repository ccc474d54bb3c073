"""The HQCNN paper's figures from ``pilot_assignment`` runs: Fig. 3c and the Table II ratios as bars.

Each function writes one PNG and returns its path (``None`` when there is nothing to draw).
"""
from __future__ import annotations

import statistics
from pathlib import Path
from qtrain.report.plots import panels, pyplot, save

__all__ = ["plot_fig3c", "plot_ratios"]


def plot_fig3c(data: dict[int, dict[str, list[float]]], base: dict[str, float], path: Path) -> Path | None:
    """Sum-rate vs qubits (noiseless / noisy / ZNE, heuristics as lines) and users kept on the noiseless pilot."""
    if not data:
        return None
    plt = pyplot()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    qs = list(data)
    for kind, style in (("noisy", "s--"), ("zne", "^-.")):
        ax2.plot(qs, [statistics.mean(data[q][f"{kind}_agree"]) for q in qs], style, label=kind)
    ax2.set(xlabel="qubits", ylabel="users on the noiseless pilot", xticks=qs, ylim=(0, 1.02))
    ax2.legend(fontsize=8)
    for kind, style in zip(("noiseless", "noisy", "zne"), ("o-", "s--", "^-.")):
        ax.plot(qs, [statistics.mean(data[q][kind]) for q in qs], style, label=kind)
    for name in ("master_ap", "random"):
        if name in base:
            ax.axhline(base[name], color="grey", lw=0.8, ls=":")
            ax.annotate(name, (qs[0], base[name]), fontsize=7, color="grey")
    ax.set(xlabel="qubits", ylabel="sum-rate (Mbit/s)", xticks=qs, title="HQCNN under depolarizing noise (Fig. 3c)")
    ax.legend(fontsize=8)
    return save(plt, fig, path, dpi=120)


def plot_ratios(panels_data: dict[str, list[tuple[str, float, float, float | None]]], ylabel: str,
                path: Path) -> Path | None:
    """One panel per title: bars of ``(method, mean ratio, std, paper ratio)``, the paper's ratio as black marks."""
    if not panels_data:
        return None
    width = max(5.2, 0.5 * max(len(bars) for bars in panels_data.values()))
    plt, fig, axes = panels(len(panels_data), width=width)
    for ax, (title, bars) in zip(axes[0], panels_data.items()):
        names = [b[0] for b in bars]
        ax.bar(range(len(bars)), [b[1] for b in bars], yerr=[b[2] for b in bars], capsize=3,
               color=["tab:blue" if n.startswith("hqcnn") else "tab:grey" for n in names])
        marks = [(i, b[3]) for i, b in enumerate(bars) if b[3] is not None]
        if marks:
            ax.plot(*zip(*marks), "k_", ms=14, mew=2, label="paper")
            ax.legend(fontsize=7)
        ax.set_xticks(range(len(bars)), names, rotation=40, ha="right", fontsize=8)
        ax.set(title=title, ylabel=ylabel)
        ax.grid(alpha=0.3, axis="y")
    return save(plt, fig, path)
