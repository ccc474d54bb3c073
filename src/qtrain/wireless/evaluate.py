"""Run the pilot-assignment baselines (heuristics, local and exhaustive search) on batches of scenarios."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch import Tensor

from qtrain.wireless.channel import Scenarios, make_scenarios
from qtrain.wireless.config import RateModel, SystemConfig
from qtrain.wireless.heuristics import (balanced_random_pilots, greedy_pilots, location_pilots, master_ap_pilots,
                                        random_pilots)
from qtrain.wireless.partitions import n_partitions
from qtrain.wireless.presets import table2_config
from qtrain.wireless.rate import sum_rate
from qtrain.wireless.exhaustive import exhaustive_pilots
from qtrain.wireless.search import local_search_pilots

__all__ = ["METHODS", "EXHAUSTIVE_LIMIT", "MethodResult", "assign_pilots", "compare_methods", "run_table2"]

METHODS = ("random", "balanced_random", "greedy", "master_ap", "location", "local_search", "exhaustive")
"""Names accepted by :func:`assign_pilots`."""

EXHAUSTIVE_LIMIT = 3_000_000
""":func:`run_table2` runs exhaustive search only where the partition count is at most this."""

_Assign = Callable[[Scenarios, SystemConfig, torch.Generator], Tensor]
_ASSIGN: dict[str, _Assign] = {
    "random": lambda sc, cfg, g: random_pilots(len(sc), cfg, g),
    "balanced_random": lambda sc, cfg, g: balanced_random_pilots(len(sc), cfg, g),
    "greedy": lambda sc, cfg, g: greedy_pilots(sc.beta, cfg, generator=g),
    "master_ap": lambda sc, cfg, g: master_ap_pilots(sc.beta, cfg),
    "location": lambda sc, cfg, g: location_pilots(sc.ue_pos, cfg),
    "local_search": lambda sc, cfg, g: local_search_pilots(sc.beta, cfg),
    "exhaustive": lambda sc, cfg, g: exhaustive_pilots(sc.beta, cfg)[0],
}


@dataclass(frozen=True)
class MethodResult:
    """Outcome of one method on ``S`` scenarios."""

    method: str
    pilots: Tensor
    """``(S, K)`` int64 labels."""
    sum_rates: Tensor
    """``(S,)`` sum-rates in Mbit/s under the config's rate model."""
    seconds: float
    """Wall time of the assignment for all ``S`` scenarios."""

    @property
    def mean(self) -> float:
        """Average sum-rate (Mbit/s)."""
        return float(self.sum_rates.mean())

    @property
    def std(self) -> float:
        """Standard deviation of the sum-rate over scenarios."""
        return float(self.sum_rates.std()) if self.sum_rates.numel() > 1 else 0.0

    @property
    def seconds_per_scenario(self) -> float:
        """Wall time per scenario."""
        return self.seconds / max(1, self.sum_rates.numel())


def assign_pilots(method: str, scenarios: Scenarios, cfg: SystemConfig, seed: int = 0) -> Tensor:
    """Pilot labels ``(S, K)`` from the named method (one of :data:`METHODS`), seeded by ``seed``."""
    if method not in _ASSIGN:
        raise ValueError(f"method={method!r} is not supported; use one of {list(METHODS)}")
    return _ASSIGN[method](scenarios, cfg, torch.Generator().manual_seed(seed))


def compare_methods(scenarios: Scenarios, cfg: SystemConfig, methods: Sequence[str] = METHODS,
                    seed: int = 0) -> dict[str, MethodResult]:
    """Run each method on ``scenarios`` and score it with :func:`~qtrain.wireless.rate.sum_rate`.

    Random and greedy draw from a generator seeded with ``seed`` (greedy starts from the same
    random assignment that the ``random`` column scores).

    Example:
        >>> cfg = SystemConfig(M=10, K=6, tau_p=3); sc = make_scenarios(cfg, 4, seed=0)
        >>> res = compare_methods(sc, cfg, ["master_ap", "exhaustive"])
        >>> res["exhaustive"].mean >= res["master_ap"].mean
        True
    """
    out: dict[str, MethodResult] = {}
    for name in methods:
        t0 = time.perf_counter()
        pilots = assign_pilots(name, scenarios, cfg, seed)
        seconds = time.perf_counter() - t0
        out[name] = MethodResult(name, pilots, sum_rate(scenarios.beta, pilots, cfg), seconds)
    return out


def run_table2(rows: Sequence[str], n: int = 200, seed: int = 2025,
               rate_models: Sequence[str] = ("closed_form", "paper_code_compat"),
               methods: Sequence[str] = METHODS, cache_dir: str | Path | None = None,
               **overrides: object) -> dict[str, dict[str, dict[str, MethodResult]]]:
    """Baselines on ``n`` test scenarios of each Table II row, under each rate model.

    Exhaustive search is skipped where the partition count exceeds :data:`EXHAUSTIVE_LIMIT`.

    Returns:
        ``results[rate_model][row][method]`` -> :class:`MethodResult`.
    """
    results: dict[str, dict[str, dict[str, MethodResult]]] = {}
    for model in rate_models:
        results[RateModel.parse(model, "rate_models").value] = per_row = {}
        for row in rows:
            cfg = table2_config(row, rate_model=model, **overrides)
            sc = make_scenarios(cfg, n, seed, cache_dir=cache_dir)
            ok = [m for m in methods if m != "exhaustive" or n_partitions(cfg.K, cfg.tau_p) <= EXHAUSTIVE_LIMIT]
            per_row[row] = compare_methods(sc, cfg, ok, seed)
    return results
