"""Mean ± standard deviation over seeds: the one definition every report, recipe and paper script uses.

The spread is the sample standard deviation (``n - 1`` in the denominator; 0 for one value), as
in the papers' "mean ± std over seeds" tables.

Example:
    >>> mean_std([80.0, 81.0, 82.5])
    (81.16666666666667, 1.2583057392117916)
    >>> format_mean_std([0.5, 0.75], digits=3)
    '0.625 ± 0.177'
    >>> format_mean_std([42.0]), format_mean_std([42.0], show_zero_std=False), format_mean_std([])
    ('42.00 ± 0.00', '42.00', '-')
"""
from __future__ import annotations

import math
import statistics
from typing import Iterable

__all__ = ["mean_std", "format_mean_std"]


def _values(values: Iterable[float]) -> list[float]:
    out = [float(v) for v in values]
    bad = [v for v in out if not math.isfinite(v)]
    if bad:
        raise ValueError(f"values hold {bad[:3]} (not finite); mean ± std needs finite numbers: drop failed runs")
    return out


def mean_std(values: Iterable[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (``n - 1``; 0 for a single value).

    Raises:
        ValueError: no values, or a NaN/inf among them.
    """
    vals = _values(values)
    if not vals:
        raise ValueError("values is empty; mean ± std needs at least one value (one per seed)")
    return statistics.mean(vals), (statistics.stdev(vals) if len(vals) > 1 else 0.0)


def format_mean_std(values: Iterable[float], digits: int = 2, *, show_zero_std: bool = True,
                    empty: str = "-") -> str:
    """``"m ± s"`` with ``digits`` decimals; ``empty`` for no values.

    Args:
        values: one number per seed.
        digits: decimals of both numbers.
        show_zero_std: for a single value write ``"m ± 0.00"`` (True) or just ``"m"`` (False).
        empty: the text for an empty ``values``.
    """
    vals = _values(values)
    if not vals:
        return empty
    m, s = mean_std(vals)
    if len(vals) == 1 and not show_zero_std:
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} ± {s:.{digits}f}"
