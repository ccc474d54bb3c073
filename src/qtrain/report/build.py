"""``build_report``: run or sweep folder -> PNG figures + ``report.html`` (+ ``ours_vs_paper.md``).

Example:
    >>> page = build_report("runs/sweep__qt_image__20250101-000000")   # doctest: +SKIP
    >>> page.name
    'report.html'
"""
from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Any, Sequence

from qtrain.report.collect import entries_of, find_runs, load_run, ours_vs_paper
from qtrain.report.plots import plot_accuracy_vs_blocks, plot_generalization_gap, plot_loss_curves, plot_weights

__all__ = ["build_report", "markdown_rows", "html_table", "FIGURES"]

#: file name -> (paper figure, caption, plotting function)
FIGURES = {
    "fig2_loss_curves.png": ("Fig. 2", "Training cross-entropy per epoch, one curve per QNN block count (L).",
                             plot_loss_curves),
    "fig3_weights.png": ("Fig. 3", "Parameter values (top) and their distribution (bottom): the CNN trained through "
                                   "Quantum-Train (fewest blocks) vs classically.", plot_weights),
    "fig5_accuracy_vs_blocks.png": ("Fig. 5", "QT train/test accuracy (mean ± std over seeds) and the parameter "
                                              "ratio vs QNN blocks; dotted lines: classical CNN and QCML test "
                                              "accuracy.", plot_accuracy_vs_blocks),
    "fig6_generalization_gap.png": ("Fig. 6", "Generalization gap = final train accuracy - test accuracy "
                                              "(points), QT per block count, QCML, classical.",
                                    plot_generalization_gap),
}


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)


def markdown_rows(rows: Sequence[dict[str, Any]]) -> str:
    """Rows (dicts with the same keys) as a markdown table."""
    if not rows:
        return "(no finished runs)\n"
    cols = list(rows[0])
    out = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" if c in ("dataset", "data", "model") else "---:"
                                                          for c in cols) + "|"]
    out += ["| " + " | ".join(_cell(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(out) + "\n"


def html_table(rows: Sequence[dict[str, Any]]) -> str:
    """Rows as an HTML ``<table>`` (escaped)."""
    if not rows:
        return "<p>(no finished runs)</p>"
    cols = list(rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(r.get(c)))}</td>" for c in cols) + "</tr>" for r in rows)
    return f'<table class="ours-vs-paper"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


_CSS = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto}table{border-collapse:collapse;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}td:nth-child(-n+3){text-align:left}"
        "img{max-width:100%}figure{margin:1.5em 0}")


def build_report(path: str | Path, out: str | Path | None = None) -> Path:
    """Write the figures, ``ours_vs_paper.md`` and ``report.html`` for the runs at ``path``.

    Args:
        path: a run folder, a sweep folder, or a folder of those.
        out: output folder (default ``path/report``).

    Returns:
        The path of ``report.html``.

    Raises:
        FileNotFoundError: ``path`` holds no run folder.
        ImportError: matplotlib is missing (``pip install "qtrain[plot]"``).
    """
    root = Path(path)
    runs = [load_run(p) for p in find_runs(root)]
    out = Path(out) if out is not None else root / "report"
    out.mkdir(parents=True, exist_ok=True)
    entries = entries_of(runs)
    rows = ours_vs_paper(entries)
    (out / "ours_vs_paper.md").write_text(markdown_rows(rows))
    figs = []
    for name, (ref, caption, fn) in FIGURES.items():
        if fn(entries, out / name) is not None:
            figs.append(f'<figure><img src="{name}" alt="{ref}"><figcaption>{ref} (paper): '
                        f"{html.escape(caption)}</figcaption></figure>")
    unfinished = [r.path.name for r in runs if r.summary is None]
    note = (f"<p>Unfinished runs (no summary.json, left out): {html.escape(', '.join(unfinished))}</p>"
            if unfinished else "")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>qtrain report: {html.escape(root.name)}</title>"
            f"<style>{_CSS}</style></head><body><h1>qtrain report</h1>"
            f"<p>Source: <code>{html.escape(str(root))}</code>; {len(runs)} run folder(s), {len(entries)} trained "
            f"model(s); written {time.strftime('%Y-%m-%d %H:%M:%S')}.</p>"
            "<h2>Ours vs paper</h2><p>Accuracies in %, mean ± std over seeds (sample std). Paper: Liu et al., "
            "Quantum-Train, Tables I-III (50 epochs on full MNIST/FashionMNIST, 1000 on CIFAR-10).</p>"
            f"{html_table(rows)}{note}<h2>Figures</h2>{''.join(figs) or '<p>(nothing to plot)</p>'}"
            f"<h2>Runs</h2><ul>{''.join(f'<li><code>{html.escape(r.path.name)}</code></li>' for r in runs)}</ul>"
            "</body></html>\n")
    target = out / "report.html"
    target.write_text(page)
    return target
