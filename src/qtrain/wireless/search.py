"""Local search for pilot assignment: single-user pilot moves until no move raises the sum-rate."""
from __future__ import annotations

import enum

import torch
from torch import Tensor

from qtrain.wireless.config import SystemConfig
from qtrain.wireless.batched import batched_sum_rate
from qtrain.wireless.heuristics import master_ap_pilots
from qtrain.wireless.rate import check_beta, check_count, check_init

__all__ = ["local_search_pilots", "MoveStrategy"]

DEFAULT_MAX_ELEMENTS = 1 << 22
"""Working-set bound (elements per chunk tensor)."""


class MoveStrategy(str, enum.Enum):
    """Which improving single-user move local search takes."""

    BEST = "best"  # the move with the largest gain
    FIRST = "first"  # the first improving move in (user, pilot offset) order


def _per_candidate(cfg: SystemConfig) -> int:
    return cfg.M * cfg.K + cfg.K * cfg.K


def _moves(cfg: SystemConfig) -> tuple[Tensor, Tensor]:
    """All single-user moves as (user, pilot offset in 1..tau_p-1), user-major order."""
    users = torch.arange(cfg.K).repeat_interleave(cfg.tau_p - 1)
    offsets = torch.arange(1, cfg.tau_p).repeat(cfg.K)
    return users, offsets


def _neighbours(pilots: Tensor, users: Tensor, offsets: Tensor, tau_p: int) -> Tensor:
    """``(A, C, K)`` labelings, each one move away from ``pilots (A, K)``."""
    cand = pilots[:, None, :].repeat(1, users.shape[0], 1)
    cols = torch.arange(users.shape[0])
    cand[:, cols, users] = (cand[:, cols, users] + offsets) % tau_p
    return cand


def _score_neighbours(beta: Tensor, cand: Tensor, cfg: SystemConfig, max_elements: int) -> Tensor:
    step = max(1, max_elements // (cand.shape[1] * _per_candidate(cfg)))
    return torch.cat([batched_sum_rate(beta[i:i + step], cand[i:i + step], cfg)
                      for i in range(0, cand.shape[0], step)])


def local_search_pilots(beta: Tensor, cfg: SystemConfig, init: Tensor | None = None,
                        strategy: MoveStrategy | str = MoveStrategy.BEST, max_rounds: int = 1000,
                        rtol: float = 1e-12, max_elements: int = DEFAULT_MAX_ELEMENTS) -> Tensor:
    """Single-user-move local search, seeded by Master-AP, until no move raises the sum-rate.

    Each round scores all ``K (tau_p - 1)`` neighbours of every still-improving scenario and
    takes the best (or the first, in user order) move whose gain exceeds ``rtol`` relative.

    Args:
        beta: ``(S, M, K)``.
        cfg: the system (``cfg.rate_model`` is the objective).
        init: starting labels ``(S, K)`` (default :func:`master_ap_pilots`).
        strategy: ``"best"`` or ``"first"`` improvement.
        max_rounds: upper bound on moves per scenario.
        rtol: minimum relative gain for a move to count.
        max_elements: bound on ``scenarios x moves x (M K + K^2)`` per scoring chunk.

    Returns:
        ``(S, K)`` int64 labels, a local optimum (never worse than ``init``).
    """
    check_beta(beta, cfg)
    try:
        strategy = MoveStrategy(strategy)
    except ValueError:
        raise ValueError(f"strategy={strategy!r} is not supported; use one of "
                         f"{[m.value for m in MoveStrategy]}") from None
    check_count("max_rounds", max_rounds)
    check_count("max_elements", max_elements, 1)
    if not isinstance(rtol, (int, float)) or isinstance(rtol, bool) or not 0 <= rtol < 1:
        raise ValueError(f"rtol={rtol!r} must be a finite number in [0, 1) (the smallest relative gain of a move)")
    pilots = master_ap_pilots(beta, cfg) if init is None else check_init(init, beta, cfg)
    if cfg.tau_p == 1:
        return pilots
    users, offsets = _moves(cfg)
    current = batched_sum_rate(beta, pilots[:, None], cfg)[:, 0]
    active = torch.arange(beta.shape[0])
    for _ in range(max_rounds):
        if active.numel() == 0:
            break
        active = _round(beta, pilots, current, active, (users, offsets), cfg, strategy, rtol, max_elements)
    return pilots


def _round(beta: Tensor, pilots: Tensor, current: Tensor, active: Tensor, moves: tuple[Tensor, Tensor],
           cfg: SystemConfig, strategy: MoveStrategy, rtol: float, max_elements: int) -> Tensor:
    """One move for every ``active`` scenario (``pilots``/``current`` updated in place); returns those that moved."""
    cand = _neighbours(pilots[active], *moves, cfg.tau_p)
    scores = _score_neighbours(beta[active], cand, cfg, max_elements)
    gain = scores - current[active, None]
    better = gain > rtol * current[active, None].abs()
    pick = gain.argmax(-1) if strategy == MoveStrategy.BEST else better.to(torch.int8).argmax(-1)
    moved = better.any(-1)
    rows = torch.arange(active.numel())[moved]
    pilots[active[moved]] = cand[rows, pick[moved]]
    current[active[moved]] = scores[rows, pick[moved]]
    return active[moved]
