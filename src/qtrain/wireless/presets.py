"""System sizes of the HQCNN paper's Table II and the sum-rates it reports for the heuristics.

Table II of Nguyen et al. (arXiv 2507.06585), "Average sum-rate (Mbps) comparison in small-scale
and medium-scale cell-free massive MIMO systems (unsupervised)". Small: ``(M, L, tau_p) =
(10, 2, 3)`` with ``K in {6, 9, 12, 15}``; medium: ``M in {30, 35, 40, 45}``, ``L = 2, K = 20,
tau_p = 10``. The paper gives no exhaustive-search value for K = 15 or the medium systems.
"""
from __future__ import annotations

from typing import Any

from qtrain.wireless.config import SystemConfig

__all__ = ["TABLE_II", "PAPER_TABLE_II", "table2_config"]

TABLE_II: dict[str, tuple[int, int, int, int]] = {
    "small_K6": (10, 2, 6, 3),
    "small_K9": (10, 2, 9, 3),
    "small_K12": (10, 2, 12, 3),
    "small_K15": (10, 2, 15, 3),
    "medium_M30": (30, 2, 20, 10),
    "medium_M35": (35, 2, 20, 10),
    "medium_M40": (40, 2, 20, 10),
    "medium_M45": (45, 2, 20, 10),
}
"""Row name -> ``(M, L, K, tau_p)``."""

_COLUMNS = ("random", "greedy", "master_ap", "location", "mlp", "light_cnn", "heavy_cnn", "hqcnn_hur",
            "hqcnn", "exhaustive")
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
    row: dict(zip(_COLUMNS, vals)) for row, vals in _ROWS.items()
}
"""Row name -> column -> average sum-rate (Mbit/s) as printed in Table II (``None``: "-")."""


def table2_config(row: str, **overrides: Any) -> SystemConfig:
    """The :class:`SystemConfig` of one Table II row, with optional field overrides.

    Example:
        >>> cfg = table2_config("medium_M40")
        >>> (cfg.M, cfg.L, cfg.K, cfg.tau_p)
        (40, 2, 20, 10)
    """
    if row not in TABLE_II:
        raise ValueError(f"row={row!r} is not a Table II system; use one of {list(TABLE_II)}")
    m, ell, k, tau_p = TABLE_II[row]
    return SystemConfig(**{"M": m, "L": ell, "K": k, "tau_p": tau_p, **overrides})
