"""Exhaustive pilot search over set partitions, evaluated block by block.

With the default power control every user's SINR depends on the partition only through
(i) the global vector ``x_m = sqrt(eta_m)``, a function of per-block sums, and (ii) the users of
its own block (pilot group). So the sum-rate of a partition is ``sum over its blocks A of
f(A, x)``, where ``f(A, x)`` needs the ``|A|^2`` cross gains ``Z_kk' = sum_m x_m R_A[m, kk']``
with ``R_A[m, kk'] = a beta_mk beta_mk' / den_A,m`` fixed per block. All blocks of one size
``n`` occur in the same number of partitions, so their evaluations form one batched matrix
product ``(blocks, partitions, M) @ (blocks, M, n^2)``; values are scattered back to partitions.
This touches about ``sum_A |A|^2`` (85 for K=15, tau_p=3) numbers per partition instead of
``K^2 + M K`` several times over, and is ~20x faster than scoring the labelings one by one with
:mod:`qtrain.wireless.batched` (K=12: 0.36 s instead of 2-8 s per scenario on one shared core).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from qtrain.wireless.config import RateModel, SystemConfig
from qtrain.wireless.partitions import _rgs_checked, n_partitions
from qtrain.wireless.rate import _inverse_or_zero, check_beta, sum_rate

__all__ = ["exhaustive_pilots", "DEFAULT_MAX_ELEMENTS"]

DEFAULT_MAX_ELEMENTS = 1 << 22
"""Working-set bound (elements per chunk tensor); ~8 live float64 tensors, so < 0.5 GiB."""
_MAX_USERS = 22  # per-subset tables have 2^K rows


@dataclass(frozen=True)
class _Blocks:
    """Blocks of size ``n`` across all partitions: ``members (c, n)``, ``masks (c,)``, ``pids (c, N)``."""

    n: int
    members: Tensor
    masks: Tensor
    pids: Tensor


@dataclass(frozen=True)
class _Structure:
    labels: Tensor  # (P, K) int8 restricted-growth strings
    masks: Tensor  # (P, tau_p) bitmask of each block (0 = empty)
    last_block: Tensor  # (P,) bitmask of the block holding user K-1
    sizes: tuple[_Blocks, ...]


def _popcount(values: np.ndarray, n_bits: int) -> np.ndarray:
    out = np.zeros(values.shape, dtype=np.int64)
    for j in range(n_bits):
        out += (values >> j) & 1
    return out


@lru_cache(maxsize=4)
def _structure(n_users: int, tau_p: int) -> _Structure:
    labels = _rgs_checked(n_users, tau_p)  # (P, K) int8, read-only
    rows = np.arange(labels.shape[0])
    masks = np.zeros((labels.shape[0], tau_p), dtype=np.int64)
    for k in range(n_users):
        masks[rows, labels[:, k]] += 1 << k
    occ_mask, occ_pid = masks.ravel(), np.repeat(rows, tau_p)
    keep = occ_mask > 0
    occ_mask, occ_pid = occ_mask[keep], occ_pid[keep]
    size = _popcount(occ_mask, n_users)
    groups = []
    for n in range(1, n_users + 1):
        sel = np.nonzero(size == n)[0]
        if sel.size == 0:
            continue
        sel = sel[np.argsort(occ_mask[sel], kind="stable")]
        uniq = np.unique(occ_mask[sel])
        members = np.nonzero((uniq[:, None] >> np.arange(n_users)) & 1)[1].reshape(uniq.size, n)
        groups.append(_Blocks(n, torch.from_numpy(members), torch.from_numpy(uniq),
                              torch.from_numpy(occ_pid[sel].reshape(uniq.size, -1))))
    last = masks[rows, labels[:, -1]]
    return _Structure(torch.from_numpy(labels.copy()), torch.from_numpy(masks), torch.from_numpy(last), tuple(groups))


def _subset_tables(beta: Tensor, a: float) -> tuple[Tensor, Tensor]:
    """``den_A = a sum_{k in A} beta_mk + 1`` and ``sum_{k in A} gamma_mk``, both ``(S, 2^K, M)``."""
    k = beta.shape[-1]
    ind = ((torch.arange(1 << k)[:, None] >> torch.arange(k)) & 1).to(beta.dtype)  # (2^K, K)
    den = a * (ind @ beta.transpose(1, 2)) + 1.0
    return den, a * (ind @ beta.square().transpose(1, 2)) / den


def _partition_terms(beta: Tensor, st: _Structure, cfg: SystemConfig, den: Tensor,
                     gsum: Tensor) -> tuple[Tensor, Tensor | None]:
    """``x = sqrt(eta)`` ``(S, P, M)``; for the compat model also ``eta_{M-1} gamma_{M-1,K-1}`` ``(S, P)``."""
    total = torch.zeros(beta.shape[0], st.masks.shape[0], beta.shape[1], dtype=beta.dtype)
    for t in range(st.masks.shape[1]):
        total += gsum[:, st.masks[:, t]]  # row 0 (empty block) is all zeros
    if cfg.rate_model == RateModel.PAPER_CODE_COMPAT:
        eta_last = _inverse_or_zero(total[..., -1])
        gamma_last = cfg.tau_p * cfg.rho_p * beta[:, -1, -1, None].square() / den[:, st.last_block, -1]
        return torch.where(total > 0, total.rsqrt(), torch.zeros_like(total)), eta_last * gamma_last
    # an AP that hears no user (every beta_mk = 0) gets x = 0, not 1/sqrt(0): the formula's limit
    return torch.where(total > 0, (cfg.L * total).rsqrt(), torch.zeros_like(total)), None


def _block_values(beta: Tensor, blocks: _Blocks, cols: slice, x: Tensor, extra: Tensor | None,
                  den: Tensor, cfg: SystemConfig) -> Tensor:
    """Sum over each block's users of ``log2(1 + SINR)`` for partitions ``pids[:, cols]``: ``(S, c, N')``."""
    n, a = blocks.n, cfg.tau_p * cfg.rho_p
    bm = beta[:, :, blocks.members].permute(0, 2, 1, 3)  # (S, c, M, n)
    r = a * bm[..., :, None] * bm[..., None, :] / den[:, blocks.masks][..., None, None]  # (S, c, M, n, n)
    pids = blocks.pids[:, cols]
    z = (x[:, pids] @ r.flatten(-2)).unflatten(-1, (n, n))  # (S, c, N', n, n)
    signal = torch.diagonal(z, dim1=-2, dim2=-1)  # (S, c, N', n)
    if extra is None:  # closed form: noncoherent = rho_d sum_m beta_mk for every assignment
        scale = cfg.rho_d * cfg.L**2
        # One fused reduction over the n^2 gains; the diagonal (signal) term is taken back out.
        coherent = (torch.linalg.vector_norm(z, dim=-1).square() - signal.square()).clamp_min(0.0)
        noise = cfg.rho_d * bm.sum(2)[:, :, None, :] + 1.0
        sinr = scale * signal.square() / (scale * coherent + noise)
    else:
        has_last = (blocks.members[:, -1] == beta.shape[-1] - 1).to(beta.dtype)[:, None, None]
        coherent = z[..., :, -1].square() * has_last
        coherent[..., -1] = 0.0  # user K-1's own term is 0 in the public code
        noise = cfg.rho_d * extra[:, pids][..., None] * beta[:, -1, blocks.members][:, :, None, :] + 1.0
        sinr = cfg.rho_d * signal.square() / (cfg.rho_d * coherent + noise)
    return torch.log2(1.0 + sinr).sum(-1)


def _exhaustive_values(beta: Tensor, cfg: SystemConfig, st: _Structure, max_elements: int) -> Tensor:
    """Sum of per-user ``log2(1 + SINR)`` (no pre-log) of every partition, ``(S, P)``."""
    den, gsum = _subset_tables(beta, cfg.tau_p * cfg.rho_p)
    x, extra = _partition_terms(beta, st, cfg, den, gsum)
    value = torch.zeros(beta.shape[0], st.labels.shape[0], dtype=beta.dtype)
    for blocks in st.sizes:
        per = beta.shape[0] * (blocks.n * blocks.n + beta.shape[1])  # elements per (block, partition) pair
        n_cols = blocks.pids.shape[1]
        col_step = max(1, min(n_cols, max_elements // per))
        row_step = max(1, max_elements // (per * col_step))
        for c0 in range(0, n_cols, col_step):
            cols = slice(c0, c0 + col_step)
            for r0 in range(0, blocks.pids.shape[0], row_step):
                sub = _Blocks(blocks.n, *(t[r0:r0 + row_step] for t in (blocks.members, blocks.masks, blocks.pids)))
                vals = _block_values(beta, sub, cols, x, extra, den, cfg)
                value.index_add_(1, sub.pids[:, cols].reshape(-1), vals.flatten(1))
    return value


def exhaustive_pilots(beta: Tensor, cfg: SystemConfig,
                      max_elements: int = DEFAULT_MAX_ELEMENTS) -> tuple[Tensor, Tensor]:
    """Optimal pilots by exhaustive search over the set partitions of the users.

    ``sum_{j <= tau_p} S(K, j)`` candidates per scenario (122 for K=6, tau_p=3; 2,391,485 for
    K=15, tau_p=3), scored block by block (module docstring) in chunks of at most
    ``max_elements`` elements per tensor.

    Args:
        beta: ``(S, M, K)``.
        cfg: the system (``cfg.rate_model`` is the objective).
        max_elements: working-set bound per chunk tensor.

    Returns:
        ``(pilots (S, K) int64, best sum-rate (S,) in Mbit/s)``; labels are restricted-growth
        strings (user 0 on pilot 0, ...), the sum-rate is re-scored with :func:`sum_rate`.

    Example:
        >>> from qtrain.wireless import make_scenarios
        >>> cfg = SystemConfig(M=10, K=6, tau_p=3); sc = make_scenarios(cfg, 2, seed=0)
        >>> exhaustive_pilots(sc.beta, cfg)[0].shape
        torch.Size([2, 6])
    """
    check_beta(beta, cfg)
    if not isinstance(max_elements, int) or max_elements < 1:
        raise ValueError(f"max_elements={max_elements!r} must be a positive integer")
    if cfg.K > _MAX_USERS:
        raise ValueError(f"K={cfg.K} is too large for exhaustive search (at most {_MAX_USERS} users; "
                         f"{n_partitions(cfg.K, cfg.tau_p):,} partitions); use local_search_pilots")
    st = _structure(cfg.K, cfg.tau_p)
    # Batch scenarios only while their per-partition state (x (P, M), values) stays small: large
    # searches run one scenario at a time, small ones (K <= ~10) many at once.
    step = max(1, max_elements // (4 * st.labels.shape[0] * (cfg.M + 2)))
    best = torch.cat([_exhaustive_values(beta[i:i + step], cfg, st, max_elements).argmax(-1)
                      for i in range(0, beta.shape[0], step)])
    pilots = st.labels[best].long()
    return pilots, sum_rate(beta, pilots, cfg)
