"""The Quantum-Train paper's Figs. 2, 3, 5 and 6 from ``qt_image`` runs (matplotlib, imported lazily).

Each function takes report entries (:mod:`qtrain.recipes.quantum_train.report`) and writes one PNG,
or returns ``None`` when the entries hold nothing to draw (e.g. Fig. 3 without both a classical
and a QT model).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from qtrain.recipes.quantum_train.entries import Entry, group_entries
from qtrain.report import mean_std
from qtrain.report.plots import panels, save


__all__ = ["plot_loss_curves", "plot_weights", "plot_accuracy_vs_blocks", "plot_generalization_gap",
           "model_weights"]

_TITLES = {"mnist": "MNIST", "fashion": "FashionMNIST", "cifar10": "CIFAR-10"}


def _panels(keys: Sequence[str], rows: int = 1, height: float = 3.6) -> tuple:
    return panels(len(keys), rows=rows, height=height)


def _label(e: Entry) -> str:
    return f"L{e.blocks}" + ("" if e.ansatz == "ry_cnot" else f" {e.ansatz}") if e.tag == "qt" else e.name


def plot_loss_curves(entries: Sequence[Entry], path: Path) -> Path | None:
    """Fig. 2: mean training cross-entropy per epoch, a curve per model (``L<blocks>`` for QT), a panel per dataset."""
    keys = sorted({e.key for e in entries if e.curve})
    if not keys:
        return None
    plt, fig, axes = _panels(keys)
    for ax, key in zip(axes[0], keys):
        for group in group_entries([e for e in entries if e.key == key]).values():
            curves = [[r["train_loss"] for r in e.curve] for e in group]
            n = min(len(c) for c in curves)
            if n == 0:
                continue
            mean = np.mean([c[:n] for c in curves], axis=0)
            seeds = f"{len(group)} seed" + "s" * (len(group) > 1)
            ax.plot(np.arange(1, n + 1), mean, marker="o", ms=3, label=f"{_label(group[0])} ({seeds})")
        ax.set(title=f"{_TITLES[key]}: training loss", xlabel="epoch", ylabel="CE loss")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return save(plt, fig, path)


Rebuild = Callable[[dict[str, Any], str], Any]
"""``rebuild(config, tag)``: the untrained model of a run's ``config.yaml`` (``qt_image.rebuild_model``); passed
in by the recipe, so this module does not import the recipe that imports it."""


def model_weights(entry: Entry, rebuild: Rebuild) -> np.ndarray | None:
    """The trained model's weights as one flat array (QT: the generated ones), from its last checkpoint.

    Only ``qt_image`` runs are rebuilt; others return ``None``.
    """
    import torch

    ckpt = entry.run.path / "checkpoints" / entry.tag / "last.pt"
    if entry.run.info.get("recipe") != "qt_image" or not ckpt.is_file() or entry.tag not in ("classical", "qt"):
        return None
    from qtrain.train import load_checkpoint

    model = rebuild(entry.run.config, entry.tag)
    model.load_state_dict(load_checkpoint(ckpt)["model"])
    if entry.tag == "qt":
        model = model.export()  # type: ignore[operator]
    with torch.no_grad():
        return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).double().numpy()


def plot_weights(entries: Sequence[Entry], path: Path, rebuild: Rebuild | None = None) -> Path | None:
    """Fig. 3: parameter value vs index (top) and histogram (bottom), QT (fewest blocks) vs classical, per dataset."""
    pairs = []
    for key in sorted({e.key for e in entries}):
        cls = [e for e in entries if e.key == key and e.tag == "classical"]
        qts = sorted((e for e in entries if e.key == key and e.tag == "qt"), key=lambda e: (e.blocks or 0, e.seed))
        if cls and qts and rebuild is not None:
            wc, wq = model_weights(cls[0], rebuild), model_weights(qts[0], rebuild)
            if wc is not None and wq is not None and wc.size == wq.size:
                pairs.append((key, qts[0], wq, wc))
    if not pairs:
        return None
    plt, fig, axes = _panels([p[0] for p in pairs], rows=2, height=3.2)
    for j, (key, qt, wq, wc) in enumerate(pairs):
        idx = np.arange(wq.size)
        axes[0][j].plot(idx, wq, ".", ms=1.5, label=f"QT {_label(qt)}", color="tab:blue")
        axes[0][j].plot(idx, wc, ".", ms=1.5, label="classical", color="tab:orange", alpha=0.6)
        axes[0][j].set(title=f"{_TITLES[key]}: parameter values", xlabel="parameter index", ylabel="value")
        bins = np.linspace(min(wq.min(), wc.min()), max(wq.max(), wc.max()), 80)
        axes[1][j].hist(wq, bins=bins, alpha=0.6, label=f"QT {_label(qt)} (std {wq.std():.3f})", color="tab:blue")
        axes[1][j].hist(wc, bins=bins, alpha=0.6, label=f"classical (std {wc.std():.3f})", color="tab:orange")
        axes[1][j].set(xlabel="value", ylabel="count")
        for ax in (axes[0][j], axes[1][j]):
            ax.legend(fontsize=7)
            ax.grid(alpha=0.3)
    return save(plt, fig, path)


def _acc(group: Sequence[Entry], key: str) -> tuple[float, float] | None:
    vals = [100 * e.result[key] for e in group if isinstance(e.result.get(key), (int, float))]
    return mean_std(vals) if vals else None


def plot_accuracy_vs_blocks(entries: Sequence[Entry], path: Path) -> Path | None:
    """Fig. 5: QT train/test accuracy (mean ± std) and parameter ratio vs blocks; classical and QCML as lines."""
    keys = sorted({e.key for e in entries if e.tag == "qt"})
    if not keys:
        return None
    plt, fig, axes = _panels(keys)
    for ax, key in zip(axes[0], keys):
        groups = group_entries([e for e in entries if e.key == key])
        qt = [(g[0].blocks, g) for (_, _, tag, _, ans), g in groups.items() if tag == "qt" and ans == "ry_cnot"]
        qt.sort(key=lambda t: t[0])
        for metric, style in (("train_acc", "s--"), ("test_acc", "o-")):
            pts = [(b, _acc(g, metric)) for b, g in qt if _acc(g, metric)]
            if pts:
                ax.errorbar([b for b, _ in pts], [m for _, (m, _) in pts], yerr=[s for _, (_, s) in pts],
                            fmt=style, ms=4, capsize=3, label=f"QT {metric.split('_')[0]}")
        for (_, _, tag, _, _), g in groups.items():
            if tag in ("classical", "qcml") and _acc(g, "test_acc"):
                ax.axhline(_acc(g, "test_acc")[0], ls=":", color="k" if tag == "classical" else "tab:green",
                           label=f"{g[0].name} test")
        ax.set(title=f"{_TITLES[key]}: accuracy vs QNN blocks", xlabel="QNN blocks", ylabel="accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
        if qt:
            tw = ax.twinx()
            tw.plot([b for b, _ in qt], [100 * g[0].result.get("param_ratio", float("nan")) for _, g in qt],
                    "d-", color="tab:red", ms=4)
            tw.set_ylabel("parameter ratio QT / CNN (%)", color="tab:red")
    return save(plt, fig, path)


def plot_generalization_gap(entries: Sequence[Entry], path: Path) -> Path | None:
    """Fig. 6: train minus test accuracy (points, mean ± std over seeds) for QT (per blocks), QCML, classical."""
    keys = sorted({e.key for e in entries if isinstance(e.result.get("gap"), (int, float))})
    if not keys:
        return None
    plt, fig, axes = _panels(keys)
    colours = {"classical": "tab:orange", "qt": "tab:blue", "qcml": "tab:green"}
    for ax, key in zip(axes[0], keys):
        groups = [g for g in group_entries([e for e in entries if e.key == key]).values() if _acc(g, "gap")]
        names = [_label(g[0]) for g in groups]
        stats = [_acc(g, "gap") for g in groups]
        ax.bar(range(len(groups)), [m for m, _ in stats], yerr=[s for _, s in stats], capsize=3,
               color=[colours.get(g[0].tag, "grey") for g in groups])
        ax.set_xticks(range(len(groups)), names, rotation=30, ha="right", fontsize=8)
        ax.axhline(0, color="k", lw=0.8)
        ax.set(title=f"{_TITLES[key]}: generalization gap", ylabel="train - test accuracy (points)")
        ax.grid(alpha=0.3, axis="y")
    return save(plt, fig, path)
