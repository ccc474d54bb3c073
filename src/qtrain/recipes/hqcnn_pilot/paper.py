"""The HQCNN paper's rows: Table II sum-rates, the one source every preset header, report and script quotes.

Table II of Nguyen et al. (arXiv 2507.06585), "Average sum-rate (Mbps) comparison in small-scale
and medium-scale cell-free massive MIMO systems (unsupervised)": four heuristics, five learners
and exhaustive search on eight systems (their ``(M, L, K, tau_p)`` are physics presets:
:data:`qtrain.wireless.TABLE_II`). The paper gives no exhaustive-search value for K = 15 or the
medium systems. Fig. 3c (sum-rate vs qubits under noise) is given only as a plot.

Example:
    >>> PAPER_TABLE_II["small_K6"]["hqcnn"], round(paper_ratio("small_K6", "hqcnn", "exhaustive"), 4)
    (18.08, 0.981)
"""
from __future__ import annotations

from typing import Any, Mapping

from qtrain.report.protocol import PaperProtocol

from qtrain.wireless.evaluate import MethodResult

__all__ = ["PAPER_COLUMNS", "PAPER_TABLE_II", "PAPER_REF", "paper_ratio", "format_table2", "paper_protocol"]

PAPER_COLUMNS = ("random", "greedy", "master_ap", "location", "mlp", "light_cnn", "heavy_cnn", "hqcnn_hur",
                 "hqcnn", "exhaustive")
"""Table II's columns, as qtrain's method names (``hqcnn_hur``: the layer-specific HQCNN of Hur et al.)."""
_ROWS: dict[str, tuple[float | None, ...]] = {
    "small_K6": (15.75, 15.76, 17.21, 16.50, 17.14, 17.20, 17.51, 18.05, 18.08, 18.43),
    "small_K9": (18.34, 19.07, 22.13, 20.67, 21.82, 22.93, 23.13, 23.80, 23.84, 24.29),
    "small_K12": (23.20, 24.76, 26.22, 25.54, 25.73, 27.18, 27.79, 28.19, 28.19, 28.74),
    "small_K15": (27.18, 33.68, 35.03, 34.55, 33.89, 35.71, 36.85, 37.36, 37.45, None),
    "medium_M30": (67.67, 82.93, 78.93, 82.16, 77.65, 89.77, 93.30, 99.41, 99.51, None),
    "medium_M35": (78.34, 96.98, 90.98, 94.45, 89.69, 103.34, 109.95, 115.44, 115.44, None),
    "medium_M40": (88.43, 102.31, 98.20, 100.12, 96.51, 111.17, 118.79, 123.72, 124.56, None),
    "medium_M45": (91.22, 112.45, 110.45, 111.05, 109.60, 122.31, 130.20, 133.04, 133.75, None),
}
PAPER_TABLE_II: dict[str, dict[str, float | None]] = {
    row: dict(zip(PAPER_COLUMNS, vals)) for row, vals in _ROWS.items()
}
"""Row name -> column -> average sum-rate (Mbit/s) as printed in Table II (``None``: "-")."""

PAPER_REF = ("greedy", "master_ap", "location")
"""Without exhaustive search, ratios are to the best of these (the paper's non-random heuristics)."""


def paper_ratio(row: str, method: str, ref: str) -> float | None:
    """The paper's own ratio of ``method``: to its exhaustive value, or to its best of :data:`PAPER_REF`.

    ``ref`` is the reference our run used (``"exhaustive"`` or a heuristic); ``None`` when the paper
    has no value for ``method`` (e.g. ``mlp_matched``, ``local_search``) or for the reference.
    """
    if row not in PAPER_TABLE_II:
        raise ValueError(f"row={row!r} is not a Table II system; use one of {list(PAPER_TABLE_II)}")
    paper = PAPER_TABLE_II[row]
    den = paper["exhaustive"] if ref == "exhaustive" else max(paper[k] for k in PAPER_REF)  # type: ignore[type-var]
    val = paper.get(method)
    return None if val is None or den is None else val / den


def format_table2(results: Mapping[str, Mapping[str, Mapping[str, MethodResult]]]) -> str:
    """Markdown: one line per (row, rate model) with ``mean (paper)`` per method and wall times.

    ``results[rate_model][row][method]`` as returned by :func:`qtrain.wireless.run_table2`.
    """
    methods = list(dict.fromkeys(m for rows in results.values() for r in rows.values() for m in r))
    head = "| system | model | " + " | ".join(methods) + " |"
    lines = [head, "|" + "---|" * (2 + len(methods))]
    for model, rows in results.items():
        for row, res in rows.items():
            cells = []
            for m in methods:
                if m not in res:
                    cells.append("-")
                    continue
                paper = PAPER_TABLE_II.get(row, {}).get(m)
                ref = f" ({paper:.2f})" if paper is not None else ""
                cells.append(f"{res[m].mean:.2f}{ref} [{res[m].seconds_per_scenario * 1e3:.1f} ms]")
            lines.append(f"| {row} | {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


PAPER_PROTOCOL = PaperProtocol(
    "Nguyen et al., Table II (public code): 192 training / 200 test scenarios, 15 epochs, batch 16, Adam lr 1e-2, "
    "unsupervised", {"n_train": 192, "n_test": 200, "epochs": 15, "batch_size": 16, "lr": 1e-2, "hqcnn_lr": 1e-2,
                     "mode": "unsupervised", "max_steps": None})
"""The training protocol of Table II (and Fig. 3c) in the paper's public code."""


def paper_protocol(recipe: str, config: Mapping[str, Any]) -> PaperProtocol | None:
    """Table II's protocol for a ``pilot_assignment`` run (``qtrain report`` flags differences)."""
    return PAPER_PROTOCOL if recipe == "pilot_assignment" else None
