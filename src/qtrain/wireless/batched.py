"""Fast per-user rates of many hard pilot labelings per scenario (the search kernel).

Same numbers as :func:`qtrain.wireless.rate.rates_from_copilot` with a 0/1 co-pilot matrix, but
laid out so that every contraction over APs is one large batched matrix product per scenario
(``(M, K) @ (K, C*tau_p)`` and ``(K, M) @ (M, C*K)``) instead of ``C`` tiny ones; exhaustive
search over millions of candidates depends on that. Intermediate tensors use the layout
``(S, M, C, K)``.
"""
from __future__ import annotations

import torch
from torch import Tensor

from qtrain.wireless.config import RateModel, SystemConfig
from qtrain.wireless.rate import _inverse_or_zero, check_beta_values

__all__ = ["batched_user_rates", "batched_sum_rate"]


def _group_sums(beta: Tensor, labels: Tensor, tau_p: int) -> Tensor:
    """``G[s, m, c, t] = sum_{k: labels[s, c, k] = t} beta[s, m, k]``, ``(S, M, C, tau_p)``."""
    s, m, k = beta.shape
    c = labels.shape[1]
    onehot = torch.nn.functional.one_hot(labels, tau_p).to(beta.dtype)  # (S', C, K, T)
    onehot = onehot.permute(0, 2, 1, 3).reshape(labels.shape[0], k, c * tau_p).expand(s, k, c * tau_p)
    return torch.bmm(beta, onehot).reshape(s, m, c, tau_p)


def _copilot_offdiag(labels: Tensor) -> Tensor:
    """``mask[s, k, c, k'] = (labels[s, c, k] == labels[s, c, k']) and k != k'``, ``(S', K, C, K)``."""
    k = labels.shape[-1]
    same = labels.transpose(1, 2)[:, :, :, None] == labels[:, None, :, :]
    return same & ~torch.eye(k, dtype=torch.bool, device=labels.device)[:, None, :]


def _estimates(beta: Tensor, labels: Tensor, cfg: SystemConfig) -> tuple[Tensor, Tensor, Tensor]:
    """``gamma (S, M, C, K)``, ``sum_k gamma (S, M, C)`` and ``gamma / beta (S, M, C, K)`` (finite at beta = 0)."""
    a = cfg.tau_p * cfg.rho_p
    den = a * _group_sums(beta, labels, cfg.tau_p) + 1.0  # (S, M, C, T)
    idx = labels[:, None, :, :].expand(beta.shape[0], beta.shape[1], -1, -1)
    den = den.gather(-1, idx)
    gamma = a * beta.square()[:, :, None, :] / den
    return gamma, gamma.sum(-1), a * beta[:, :, None, :] / den


def _closed_form_sinr(beta: Tensor, labels: Tensor, cfg: SystemConfig) -> Tensor:
    s, m, k = beta.shape
    c = labels.shape[1]
    gamma, total, ratio = _estimates(beta, labels, cfg)
    eta = _inverse_or_zero(cfg.L * total)  # (S, M, C)
    w = eta.sqrt()[..., None] * ratio  # (S, M, C, K)
    z = torch.bmm(beta.transpose(1, 2), w.reshape(s, m, c * k)).reshape(s, k, c, k)  # z[s, k, c, k']
    signal = torch.diagonal(z, dim1=1, dim2=3)  # (S, C, K)
    coherent = (z.square() * _copilot_offdiag(labels)).sum(-1).transpose(1, 2)  # (S, C, K)
    noncoherent = torch.bmm((eta * total).transpose(1, 2), beta)  # (S, C, K)
    scale = cfg.rho_d * cfg.L**2
    return scale * signal.square() / (scale * coherent + cfg.rho_d * cfg.L * noncoherent + 1.0)


def _compat_sinr(beta: Tensor, labels: Tensor, cfg: SystemConfig) -> Tensor:
    k = beta.shape[-1]
    gamma, total, ratio = _estimates(beta, labels, cfg)
    eta = _inverse_or_zero(total)  # the public code has no L
    w = eta.sqrt()[..., None] * ratio  # (S, M, C, K)
    signal = (w * beta[:, :, None, :]).sum(1)  # (S, C, K)
    z_last = torch.bmm(w[..., k - 1].transpose(1, 2), beta)  # (S, C, K): Z_{k, K-1}
    with_last = labels == labels[..., k - 1:]
    with_last[..., k - 1] = False  # user K-1's own term is 0 in the code
    coherent = z_last.square() * with_last
    noncoherent = (eta[:, -1] * gamma[:, -1, :, -1])[..., None] * beta[:, None, -1, :]  # (S, C, K)
    return cfg.rho_d * signal.square() / (cfg.rho_d * coherent + cfg.rho_d * noncoherent + 1.0)


def batched_user_rates(beta: Tensor, labels: Tensor, cfg: SystemConfig) -> Tensor:
    """Per-user rates (bit/s/Hz) of ``C`` hard labelings per scenario, under ``cfg.rate_model``.

    Args:
        beta: ``(S, M, K)``.
        labels: ``(S, C, K)`` or shared ``(1, C, K)`` int64 labels in ``0..tau_p-1`` (not checked).
        cfg: the system.

    Returns:
        ``(S, C, K)``; equal to ``rates_from_copilot(beta[:, None], copilot_matrix(labels), cfg)``.

    Raises:
        ValueError: ``beta`` holds values outside ``[0, 1]`` or NaN.
    """
    check_beta_values(beta)
    if cfg.rate_model == RateModel.PAPER_CODE_COMPAT:
        return (1.0 - cfg.tau_p / cfg.tau_c) * torch.log2(1.0 + _compat_sinr(beta, labels, cfg))
    return cfg.prelog * torch.log2(1.0 + _closed_form_sinr(beta, labels, cfg))


def batched_sum_rate(beta: Tensor, labels: Tensor, cfg: SystemConfig) -> Tensor:
    """``(S, C)`` sums over users of :func:`batched_user_rates` (bit/s/Hz, not scaled by ``B``)."""
    return batched_user_rates(beta, labels, cfg).sum(-1)
