"""Pilot-assignment heuristics, vectorised over scenarios: random, greedy, Master-AP, location-based.

Every function returns integer pilot labels ``(S, K)`` in ``0..tau_p-1``. Rate-driven steps use
``cfg.rate_model``, so the heuristics optimise the same objective that scores them.
"""
from __future__ import annotations

import torch
from torch import Tensor

from qtrain.wireless.channel import wraparound_distance
from qtrain.wireless.config import SystemConfig
from qtrain.wireless.batched import batched_user_rates
from qtrain.wireless.rate import check_beta, check_count, check_init

__all__ = ["random_pilots", "balanced_random_pilots", "greedy_pilots", "master_ap_pilots", "location_pilots"]


def random_pilots(n_scenarios: int, cfg: SystemConfig, generator: torch.Generator | None = None) -> Tensor:
    """Each user draws a pilot uniformly and independently (Ngo et al.'s random assignment).

    Returns:
        ``(S, K)`` int64 labels.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> random_pilots(2, SystemConfig(K=6, tau_p=3), g).shape
        torch.Size([2, 6])
    """
    check_count("n_scenarios", n_scenarios)
    return torch.randint(0, cfg.tau_p, (n_scenarios, cfg.K), generator=generator)


def balanced_random_pilots(n_scenarios: int, cfg: SystemConfig,
                           generator: torch.Generator | None = None) -> Tensor:
    """``pilot = randperm(K) mod tau_p``: every pilot is used ``floor(K/tau_p)`` or ``ceil(K/tau_p)`` times.

    Bjornson's initialisation of the greedy algorithm. Returns ``(S, K)`` int64 labels.
    """
    check_count("n_scenarios", n_scenarios)
    perm = torch.rand(n_scenarios, cfg.K, generator=generator).argsort(-1)
    return perm % cfg.tau_p


def greedy_pilots(beta: Tensor, cfg: SystemConfig, init: Tensor | None = None, n_iter: int | None = None,
                  generator: torch.Generator | None = None) -> Tensor:
    """Greedy pilot assignment of Ngo et al. 2017, Sec. IV-A.

    Starting from ``init`` (default: :func:`random_pilots`), repeat ``n_iter`` times (default
    ``K``, as Bjornson's public reproduction): find the user with the lowest rate and move it to
    the pilot whose other users have the least total ``sum_m beta_mk'``.

    Args:
        beta: ``(S, M, K)``.
        cfg: the system (its ``rate_model`` ranks the users).
        init: optional ``(S, K)`` starting labels.
        n_iter: number of moves (default ``K``).
        generator: RNG for the random start.

    Returns:
        ``(S, K)`` int64 labels.
    """
    check_beta(beta, cfg)
    if n_iter is not None:
        check_count("n_iter", n_iter)
    s = beta.shape[0]
    pilots = random_pilots(s, cfg, generator) if init is None else check_init(init, beta, cfg)
    colsum = beta.sum(-2)  # (S, K): sum_m beta_mk
    rows = torch.arange(s)
    for _ in range(cfg.K if n_iter is None else n_iter):
        worst = batched_user_rates(beta, pilots[:, None], cfg)[:, 0].argmin(-1)
        load = torch.zeros(s, cfg.tau_p, dtype=beta.dtype).scatter_add_(1, pilots, colsum)
        load[rows, pilots[rows, worst]] -= colsum[rows, worst]  # the moving user does not count
        pilots[rows, worst] = load.argmin(-1)
    return pilots


def master_ap_pilots(beta: Tensor, cfg: SystemConfig) -> Tensor:
    """Master-AP pilot assignment (Bjornson & Sanguinetti 2020, Algorithm 1).

    Users are processed in index order; user ``k``'s master AP is ``argmax_m beta_mk``. The first
    ``tau_p`` users get pilots ``0..tau_p-1``; each later user gets the pilot with the least
    ``sum_{i < k, t_i = t} beta_{master(k), i}``, the interference seen at its master AP. (The
    public HQCNN code permutes the first ``tau_p`` labels at random; rates are invariant to that.)

    Args:
        beta: ``(S, M, K)``.
        cfg: the system.

    Returns:
        ``(S, K)`` int64 labels.
    """
    check_beta(beta, cfg)
    s, _, k_users = beta.shape
    master = beta.argmax(-2)  # (S, K)
    pilots = torch.zeros(s, k_users, dtype=torch.long)
    for k in range(k_users):
        if k < cfg.tau_p:
            pilots[:, k] = k
            continue
        seen = beta.gather(1, master[:, k, None, None].expand(s, 1, k_users))[:, 0, :k]  # (S, k)
        load = torch.zeros(s, cfg.tau_p, dtype=beta.dtype).scatter_add_(1, pilots[:, :k], seen)
        pilots[:, k] = load.argmin(-1)
    return pilots


def location_pilots(ue_pos: Tensor, cfg: SystemConfig) -> Tensor:
    """Location-based pilot assignment: a *reconstruction* of Nguyen et al., ICT Express 2023.

    The paper's [6] could not be obtained; it "divides the coverage area into grid-based regions
    and assigns the pilot signals into disjoint subsets" so that co-pilot users are far apart.
    This stand-in uses positions only: users are visited by increasing x coordinate; the first
    ``tau_p`` get distinct pilots; each later user takes the pilot whose current users are
    farthest from it (largest minimum wrap-around distance; ties to the lowest pilot).

    Args:
        ue_pos: user positions ``(S, K, 2)`` in km.
        cfg: the system (``area_side_km``, ``wrap_around``, ``tau_p``).

    Returns:
        ``(S, K)`` int64 labels.
    """
    if ue_pos.ndim != 3 or tuple(ue_pos.shape[1:]) != (cfg.K, 2):
        raise ValueError(f"ue_pos.shape={tuple(ue_pos.shape)} must be (S, K, 2) = (S, {cfg.K}, 2)")
    if not bool(torch.isfinite(ue_pos).all()):
        raise ValueError("ue_pos holds NaN or inf; user positions are finite coordinates in km")
    s, k_users, _ = ue_pos.shape
    dist = wraparound_distance(ue_pos, ue_pos, cfg.area_side_km, cfg.wrap_around)  # (S, K, K)
    order = ue_pos[..., 0].argsort(-1)
    pilots = torch.full((s, k_users), -1, dtype=torch.long)
    rows = torch.arange(s)
    labels = torch.arange(cfg.tau_p)[None, :, None]
    for i in range(k_users):
        k = order[:, i]
        if i < cfg.tau_p:
            pilots[rows, k] = i
            continue
        d_k = dist[rows, k][:, None, :]  # (S, 1, K)
        nearest = torch.where(pilots[:, None, :] == labels, d_k, torch.inf).amin(-1)  # (S, tau_p)
        pilots[rows, k] = nearest.argmax(-1)
    return pilots
