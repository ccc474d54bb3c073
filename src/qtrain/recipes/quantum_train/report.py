"""The ``qt_image`` report hook: "ours vs paper" (Tables I-III) over seeds, the paper's Figs. 2, 3, 5, 6.

``qtrain report RUN_OR_SWEEP`` calls :func:`report_section` (``Recipe(report=...)``) with the
recipe's finished runs; :func:`ours_vs_paper` is also what ``benchmarks/papers/qt_image_results.py`` prints.

Example:
    >>> from qtrain.report import find_runs, load_run
    >>> runs = [load_run(p) for p in find_runs("runs/sweep__qt_image__20250101-000000")]   # doctest: +SKIP
    >>> rows = ours_vs_paper(entries_of(runs))                                             # doctest: +SKIP
"""
from __future__ import annotations

import functools
from typing import Any, Sequence

from qtrain.recipes.quantum_train.entries import Entry, entries_of, group_entries
from qtrain.recipes.quantum_train.figures import (Rebuild, plot_accuracy_vs_blocks, plot_generalization_gap,
                                                  plot_loss_curves, plot_weights)
from qtrain.recipes.quantum_train.paper import paper_row
from qtrain.report import Figure, ReportSection, Run, Table, format_mean_std, mean_std
from qtrain.report.collect import is_number

SYNTHETIC = ("cifar10_synthetic",)
"""Datasets of generated images: their rows show the paper's parameter count but no accuracy to compare."""

__all__ = ["SYNTHETIC", "Entry", "entries_of", "group_entries", "ours_vs_paper", "report_section"]


def _pick(group: Sequence[Entry], key: str) -> list[float]:
    """``100 * result[key]`` of the entries that have it (accuracies and gaps in %)."""
    return [100 * e.result[key] for e in group if is_number(e.result.get(key))]


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
            "train acc %": format_mean_std(_pick(group, "train_acc")), "test acc %": format_mean_std(test),
            "gap (pts)": format_mean_std(_pick(group, "gap")),
            "paper test acc %": ref.test_acc if ref and ref.test_acc is not None else None,
            "ours - paper": (f"{mean_std(test)[0] - ref.test_acc:+.2f}"
                             if ref and ref.test_acc is not None and test else None),
        })
    return rows


FIGURES = (
    ("fig2_loss_curves.png", "Fig. 2", "Training cross-entropy per epoch, one curve per QNN block count (L).",
     plot_loss_curves),
    ("fig3_weights.png", "Fig. 3", "Parameter values (top) and their distribution (bottom): the CNN trained "
                                   "through Quantum-Train (fewest blocks) vs classically.", plot_weights),
    ("fig5_accuracy_vs_blocks.png", "Fig. 5", "QT train/test accuracy (mean ± std over seeds) and the parameter "
                                              "ratio vs QNN blocks; dotted lines: classical CNN and QCML test "
                                              "accuracy.", plot_accuracy_vs_blocks),
    ("fig6_generalization_gap.png", "Fig. 6", "Generalization gap = final train accuracy - test accuracy "
                                              "(points), QT per block count, QCML, classical.",
     plot_generalization_gap),
)
"""(file name, paper figure, caption, plotting function of the entries)."""


def report_section(runs: Sequence[Run], rebuild: Rebuild | None = None) -> ReportSection:
    """The hook of ``Recipe("qt_image")``: ours vs Tables I-III, Figs. 2, 3, 5, 6, test accuracy per epoch.

    ``rebuild(config, tag)`` makes a run's model for the weights figure (Fig. 3; skipped without it).
    """
    entries = entries_of(runs)
    fns = {fn: (functools.partial(fn, rebuild=rebuild) if fn is plot_weights else fn) for *_, fn in FIGURES}
    figures = [Figure(name, f"{ref} (paper)", caption, lambda path, fn=fns[fn]: fn(entries, path))
               for name, ref, caption, fn in FIGURES]
    return ReportSection(
        title="qt_image: Quantum-Train (Liu et al.), ours vs paper",
        intro=(f"{len(entries)} trained model(s). Accuracies in %, mean ± std over seeds (sample std). Paper: Liu et "
               "al., Quantum-Train, Tables I-III (50 epochs on full MNIST/FashionMNIST, 1000 on CIFAR-10)."),
        tables=[Table("Ours vs paper", ours_vs_paper(entries))], curves=("test_acc",), figures=figures)
