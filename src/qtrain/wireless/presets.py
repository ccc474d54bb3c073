"""System sizes of the HQCNN paper's Table II (physics presets; the paper's sum-rates live with its recipe).

Table II of Nguyen et al. (arXiv 2507.06585) compares pilot assignments on eight systems. Small:
``(M, L, tau_p) = (10, 2, 3)`` with ``K in {6, 9, 12, 15}``; medium: ``M in {30, 35, 40, 45}``,
``L = 2, K = 20, tau_p = 10``. The sum-rates the paper reports are in
:mod:`qtrain.recipes.hqcnn_pilot.paper` (the wireless layer does not quote papers).
"""
from __future__ import annotations

from typing import Any

from qtrain.wireless.config import SystemConfig

__all__ = ["TABLE_II", "table2_config"]

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
