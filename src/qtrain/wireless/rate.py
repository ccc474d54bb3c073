"""Downlink sum-rate of a pilot assignment: MMSE estimation quality, power control, closed-form SINR.

Everything is written in terms of the co-pilot matrix ``P (..., K, K)``, ``P_kk' = sum_t p_kt p_k't``:
one-hot pilots give the 0/1 "same pilot" indicator, per-user pilot probabilities give the soft,
differentiable relaxation of the paper's eq. (8). All functions broadcast over leading batch
dimensions (scenarios, candidate assignments) of ``beta (..., M, K)`` and ``P``.

Closed-form model (paper eq. (3); Ngo et al. 2017 eq. (24) for ``L`` antennas per AP)::

    gamma_mk = tau_p rho_p beta_mk^2 / (tau_p rho_p sum_k' beta_mk' P_kk' + 1)
    eta_mk   = 1 / (L sum_k' gamma_mk')                      (full power, equal per user)
    Z_kk'    = sum_m sqrt(eta_mk') gamma_mk' beta_mk / beta_mk'
    SINR_k   = rho_d L^2 Z_kk^2 / (rho_d L^2 sum_{k' != k} P_kk' Z_kk'^2
                                   + rho_d L sum_m beta_mk sum_k' eta_mk' gamma_mk' + 1)
    R_k      = prelog * log2(1 + SINR_k)   [bit/s/Hz];   sum-rate = B * sum_k R_k  [Mbit/s]

with ``prelog = xi * (1 - tau_p/tau_c)`` if ``cfg.pilot_overhead`` else ``xi`` (defaults: 1, as in
eq. (3), ``R_dk = B log2(1 + SINR)``). ``rate_model="paper_code_compat"`` swaps in the public
code's buggy formula (see :class:`~qtrain.wireless.config.RateModel`).

Inputs are checked: ``beta`` finite and in ``[0, 1]`` (a linear power gain), probabilities in
``[0, 1]`` with rows summing to 1, power coefficients ``>= 0`` and within each AP's budget.
``beta_mk = 0`` (a user an AP does not hear) is allowed and takes the formula's limit: the ratio
``gamma_mk / beta_mk`` is computed as ``a beta_mk / den_mk`` (finite), and an AP that hears no
user gets ``eta_m = 0`` (it transmits nothing) instead of ``1/0``.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from qtrain.wireless.config import RateModel, SystemConfig

__all__ = ["SinrTerms", "copilot_matrix", "soft_copilot_matrix", "estimation_quality", "power_control",
           "sinr_terms", "compat_sinr_terms", "rates_from_copilot", "user_rates", "sum_rate", "soft_sum_rate",
           "rate_scale_mbps", "check_pilots", "check_beta", "check_beta_values", "check_probs", "check_eta",
           "check_init", "check_count"]


class SinrTerms(NamedTuple):
    """The parts of the closed-form SINR, each ``(..., K)``, already scaled by ``rho_d L^2`` etc."""

    signal: Tensor
    coherent: Tensor  # pilot-contamination (coherent) interference; 0 without pilot sharing
    noncoherent: Tensor  # beamforming-uncertainty / non-coherent interference

    @property
    def sinr(self) -> Tensor:
        """``signal / (coherent + noncoherent + 1)``."""
        return self.signal / (self.coherent + self.noncoherent + 1.0)


def check_beta_values(beta: Tensor) -> None:
    """Raise ``ValueError`` unless ``beta (..., M, K)`` is a floating tensor of finite gains in ``[0, 1]``."""
    if not isinstance(beta, Tensor) or not beta.is_floating_point() or beta.ndim < 2:
        raise ValueError(f"beta must be a float tensor (..., M, K) of large-scale fading gains, got "
                         f"{getattr(beta, 'dtype', type(beta).__name__)} {tuple(getattr(beta, 'shape', ()))}")
    if beta.numel() and not bool(((beta >= 0) & (beta <= 1)).all()):  # NaN fails both comparisons
        bad = beta[~((beta >= 0) & (beta <= 1))]
        raise ValueError(f"beta holds {bad.numel()} value{'s' if bad.numel() != 1 else ''} outside [0, 1] (e.g. "
                         f"{float(bad[0])!r}); large-scale "
                         "fading is a finite linear power gain 0 <= beta <= 1 (pass 10**(dB/10), not dB, and no NaN)")


def check_beta(beta: Tensor, cfg: SystemConfig) -> None:
    """Raise ``ValueError`` unless ``beta`` is a floating ``(S, M, K)`` tensor matching ``cfg``, gains in ``[0, 1]``."""
    if not isinstance(beta, Tensor) or not beta.is_floating_point() or beta.ndim != 3 \
            or tuple(beta.shape[1:]) != (cfg.M, cfg.K):
        raise ValueError(f"beta must be a float tensor (S, M, K) = (S, {cfg.M}, {cfg.K}), got "
                         f"{tuple(getattr(beta, 'shape', ()))} {getattr(beta, 'dtype', type(beta).__name__)}")
    check_beta_values(beta)


def check_probs(probs: Tensor, cfg: SystemConfig) -> None:
    """Raise ``ValueError`` unless ``probs (..., K, tau_p)`` holds probabilities: in ``[0, 1]``, rows summing to 1."""
    if not isinstance(probs, Tensor) or not probs.is_floating_point() or probs.ndim < 2 \
            or tuple(probs.shape[-2:]) != (cfg.K, cfg.tau_p):
        raise ValueError(f"probs.shape={tuple(getattr(probs, 'shape', ()))} must end with (K, tau_p)=({cfg.K}, "
                         f"{cfg.tau_p}) and be floating; pass per-user pilot probabilities, e.g. logits.softmax(-1)")
    p = probs.detach()
    if p.numel() and not bool(((p >= 0) & (p <= 1)).all()):
        raise ValueError(f"probs hold values outside [0, 1] (min {float(p.nan_to_num(-1.0).min())!r}, NaN "
                         f"{bool(p.isnan().any())}); pass probabilities, e.g. logits.softmax(-1)")
    tol = max(1e-5, 16 * torch.finfo(p.dtype).eps * cfg.tau_p)
    err = float((p.sum(-1) - 1).abs().max()) if p.numel() else 0.0
    if err > tol:
        raise ValueError(f"probs rows must sum to 1 (largest deviation {err:.3g} > {tol:.1g}); each user's pilot "
                         "probabilities form one distribution, e.g. logits.softmax(-1)")


def check_eta(eta: Tensor, gamma: Tensor, cfg: SystemConfig) -> None:
    """Raise ``ValueError`` unless ``eta`` (like ``gamma``, ``(..., M, K)``) is ``>= 0`` and within budget.

    The budget of AP ``m`` is ``L sum_k eta_mk gamma_mk <= 1`` (its total power ``rho_d``).
    """
    if not isinstance(eta, Tensor) or not eta.is_floating_point() or eta.shape != gamma.shape:
        raise ValueError(f"eta must be a float tensor shaped like gamma {tuple(gamma.shape)}, got "
                         f"{getattr(eta, 'dtype', type(eta).__name__)} {tuple(getattr(eta, 'shape', ()))}")
    e = eta.detach()
    if e.numel() and not bool(((e >= 0) & torch.isfinite(e)).all()):
        raise ValueError("eta holds negative or non-finite power coefficients; each eta_mk must be a finite "
                         "number >= 0")
    load = cfg.L * (e * gamma.detach()).sum(-1)
    if load.numel() and float(load.max()) > 1 + 1e-6:
        raise ValueError(f"eta exceeds the per-AP power budget: L sum_k eta_mk gamma_mk = {float(load.max()):.6g} > 1 "
                         "at some AP; scale eta down (power_control(gamma, cfg) meets it with equality)")


def check_count(name: str, value: object, minimum: int = 0) -> None:
    """Raise ``ValueError`` unless ``value`` is an integer ``>= minimum`` (named ``name`` in the message)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name}={value!r} must be an integer >= {minimum}")


def check_pilots(pilots: Tensor, cfg: SystemConfig) -> None:
    """Raise ``ValueError`` unless ``pilots`` is an integer ``(..., K)`` tensor in ``0..tau_p-1``."""
    if not isinstance(pilots, Tensor) or pilots.is_floating_point() or pilots.is_complex():
        raise ValueError(f"pilots must be an integer tensor (..., K={cfg.K}), got "
                         f"{getattr(pilots, 'dtype', type(pilots).__name__)}; pass e.g. torch.tensor(labels)")
    if pilots.ndim < 1 or pilots.shape[-1] != cfg.K:
        raise ValueError(f"pilots.shape={tuple(pilots.shape)} must end with K={cfg.K}")
    if pilots.numel() and (int(pilots.min()) < 0 or int(pilots.max()) >= cfg.tau_p):
        raise ValueError(f"pilots hold values in [{int(pilots.min())}, {int(pilots.max())}]; "
                         f"allowed are 0..tau_p-1 = 0..{cfg.tau_p - 1}")


def check_init(init: Tensor, beta: Tensor, cfg: SystemConfig) -> Tensor:
    """Starting labels of a search: integer ``(S, K)`` in ``0..tau_p-1`` with ``S`` = ``beta.shape[0]``; a copy."""
    check_pilots(init, cfg)
    if tuple(init.shape) != (beta.shape[0], cfg.K):
        raise ValueError(f"init.shape={tuple(init.shape)} must be (S, K) = ({beta.shape[0]}, {cfg.K}), one labeling "
                         "per scenario of beta")
    return init.clone().long()


def copilot_matrix(pilots: Tensor, dtype: torch.dtype = torch.float64) -> Tensor:
    """``P_kk' = 1`` if users ``k`` and ``k'`` use the same pilot (diagonal 1): ``(..., K) -> (..., K, K)``."""
    return (pilots[..., :, None] == pilots[..., None, :]).to(dtype)


def soft_copilot_matrix(probs: Tensor) -> Tensor:
    """``P = q q^T`` from per-user pilot probabilities ``q (..., K, tau_p)``: ``(..., K, K)``."""
    return probs @ probs.transpose(-1, -2)


def _gamma_ratio(beta: Tensor, copilot: Tensor, cfg: SystemConfig) -> Tensor:
    """``gamma_mk / beta_mk = a beta_mk / den_mk`` ``(..., M, K)``: finite where ``beta_mk = 0``."""
    a = cfg.tau_p * cfg.rho_p
    return a * beta / (a * (beta @ copilot) + 1.0)


def estimation_quality(beta: Tensor, copilot: Tensor, cfg: SystemConfig) -> Tensor:
    """MMSE estimate variance ``gamma_mk`` per antenna, ``(..., M, K)``.

    ``gamma_mk = tau_p rho_p beta_mk^2 / (tau_p rho_p sum_k' beta_mk' P_kk' + 1)`` (sum includes k).
    """
    a = cfg.tau_p * cfg.rho_p
    return a * beta.square() / (a * (beta @ copilot) + 1.0)


def _inverse_or_zero(total: Tensor) -> Tensor:
    """``1 / total`` where ``total > 0``, else 0 (an AP that hears no user sends it nothing); NaN-free gradients."""
    positive = total > 0
    return torch.where(positive, 1.0 / torch.where(positive, total, torch.ones_like(total)), torch.zeros_like(total))


def power_control(gamma: Tensor, cfg: SystemConfig) -> Tensor:
    """Equal full-power coefficients ``eta_mk = 1 / (L sum_k' gamma_mk')``, ``(..., M, K)``.

    They meet the per-AP power constraint ``L sum_k eta_mk gamma_mk <= 1`` with equality; an AP
    with ``gamma_mk = 0`` for every user (all its ``beta_mk = 0``) gets ``eta_mk = 0``.
    """
    return _inverse_or_zero(cfg.L * gamma.sum(-1, keepdim=True)).expand_as(gamma)


def _cross_gains(beta: Tensor, ratio: Tensor, eta: Tensor) -> Tensor:
    """``Z_kk' = sum_m sqrt(eta_mk') gamma_mk' beta_mk / beta_mk'``, ``(..., K, K)``; ``ratio = gamma / beta``."""
    return beta.transpose(-1, -2) @ (eta.sqrt() * ratio)


def _offdiag(k: int, like: Tensor) -> Tensor:
    return 1.0 - torch.eye(k, dtype=like.dtype, device=like.device)


def sinr_terms(beta: Tensor, copilot: Tensor, cfg: SystemConfig, eta: Tensor | None = None) -> SinrTerms:
    """Closed-form conjugate-beamforming SINR parts (paper eq. (3)) for ``L`` antennas per AP.

    Args:
        beta: large-scale fading ``(..., M, K)``.
        copilot: co-pilot matrix ``(..., K, K)`` (hard 0/1 or soft ``q q^T``).
        cfg: system constants (``tau_p``, ``L``, ``rho_p``, ``rho_d``).
        eta: optional fixed power coefficients ``(..., M, K)``; default :func:`power_control`.

    Returns:
        :class:`SinrTerms` with ``signal``, ``coherent``, ``noncoherent``, each ``(..., K)``.
    """
    gamma = estimation_quality(beta, copilot, cfg)
    if eta is None:
        eta = power_control(gamma, cfg)
    else:
        check_eta(eta, gamma, cfg)
    z = _cross_gains(beta, _gamma_ratio(beta, copilot, cfg), eta)
    scale = cfg.rho_d * cfg.L**2
    signal = scale * torch.diagonal(z, dim1=-2, dim2=-1).square()
    coherent = scale * (copilot * _offdiag(z.shape[-1], z) * z.square()).sum(-1)
    noncoherent = cfg.rho_d * cfg.L * ((eta * gamma).sum(-1, keepdim=True) * beta).sum(-2)
    return SinrTerms(signal, coherent, noncoherent)


def compat_sinr_terms(beta: Tensor, copilot: Tensor, cfg: SystemConfig) -> SinrTerms:
    """SINR of the public code's numpy ``calculate_dl_rate``, bug included (never the default).

    Its loops *assign* ``sum_term_1`` and ``sum_term_3`` instead of accumulating, so the coherent
    term keeps only the last user ``j = K-1`` (and is 0 for that user itself) and the
    non-coherent term only the last pair ``(m, j) = (M-1, K-1)``. It also has no antenna count:
    ``eta_m = 1 / sum_k gamma_mk`` and no ``L`` factors. Powers are ``cfg.rho_d``, ``cfg.rho_p``.

    Args:
        beta: ``(..., M, K)``.
        copilot: ``(..., K, K)``.
        cfg: system constants.

    Returns:
        :class:`SinrTerms` ``(..., K)`` whose ``sinr`` is the code's SINR.
    """
    gamma = estimation_quality(beta, copilot, cfg)
    eta = _inverse_or_zero(gamma.sum(-1, keepdim=True)).expand_as(gamma)
    z = _cross_gains(beta, _gamma_ratio(beta, copilot, cfg), eta)
    k = beta.shape[-1]
    last = torch.ones(k, dtype=beta.dtype, device=beta.device)
    last[k - 1] = 0.0  # user K-1 sees j = K-1 = k, whose term the code sets to 0
    signal = cfg.rho_d * torch.diagonal(z, dim1=-2, dim2=-1).square()
    coherent = cfg.rho_d * last * z[..., :, k - 1].square() * copilot[..., :, k - 1]
    noncoherent = cfg.rho_d * (eta[..., -1, -1] * gamma[..., -1, -1])[..., None] * beta[..., -1, :]
    return SinrTerms(signal, coherent, noncoherent)


def rate_scale_mbps(cfg: SystemConfig) -> float:
    """Factor from ``sum_k R_k`` (bit/s/Hz) to the reported sum-rate: ``B / 1e6``; 1 for the compat model.

    The public code reports its bandwidth-free value directly as "Mbps"; the compat model does too.
    """
    return 1.0 if cfg.rate_model == RateModel.PAPER_CODE_COMPAT else cfg.bandwidth_hz / 1e6


def rates_from_copilot(beta: Tensor, copilot: Tensor, cfg: SystemConfig, eta: Tensor | None = None) -> Tensor:
    """Per-user rates ``(..., K)`` in bit/s/Hz (pre-log included) under ``cfg.rate_model``.

    Closed form: ``prelog * log2(1 + SINR_k)``; compat: ``(1 - tau_p/tau_c) log2(1 + SINR_k)``.

    Raises:
        ValueError: ``beta`` holds values outside ``[0, 1]`` (or NaN); ``eta`` is negative,
            non-finite or over budget.
    """
    check_beta_values(beta)
    if cfg.rate_model == RateModel.PAPER_CODE_COMPAT:
        if eta is not None:
            raise ValueError("eta is only supported with rate_model='closed_form'; the "
                             "'paper_code_compat' formula fixes eta = 1/sum_k gamma_mk. Pass eta=None")
        return (1.0 - cfg.tau_p / cfg.tau_c) * torch.log2(1.0 + compat_sinr_terms(beta, copilot, cfg).sinr)
    return cfg.prelog * torch.log2(1.0 + sinr_terms(beta, copilot, cfg, eta).sinr)


def user_rates(beta: Tensor, pilots: Tensor, cfg: SystemConfig, eta: Tensor | None = None) -> Tensor:
    """Per-user rates ``(..., K)`` in bit/s/Hz of hard pilot labels ``pilots (..., K)`` in ``0..tau_p-1``."""
    check_pilots(pilots, cfg)
    return rates_from_copilot(beta, copilot_matrix(pilots, beta.dtype), cfg, eta)


def sum_rate(beta: Tensor, pilots: Tensor, cfg: SystemConfig, eta: Tensor | None = None) -> Tensor:
    """Sum-rate ``(...,)`` in Mbit/s of a hard pilot assignment.

    Args:
        beta: large-scale fading ``(S, M, K)`` (any leading dims).
        pilots: integer labels ``(S, K)`` in ``0..tau_p-1`` (broadcast against ``beta``).
        cfg: the system; ``cfg.rate_model`` picks the formula.
        eta: optional fixed power coefficients ``(S, M, K)`` (closed form only).

    Returns:
        ``(S,)`` sum-rates in Mbit/s (``B * sum_k R_k``; the compat model has no ``B``).

    Example:
        >>> from qtrain.wireless import SystemConfig, make_scenarios
        >>> cfg = SystemConfig(M=10, K=6, tau_p=3); sc = make_scenarios(cfg, 2, seed=0)
        >>> sum_rate(sc.beta, torch.tensor([[0, 1, 2, 0, 1, 2]] * 2), cfg).shape
        torch.Size([2])
    """
    return user_rates(beta, pilots, cfg, eta).sum(-1) * rate_scale_mbps(cfg)


def soft_sum_rate(beta: Tensor, probs: Tensor, cfg: SystemConfig) -> Tensor:
    """Differentiable sum-rate ``(...,)`` in Mbit/s of per-user pilot probabilities (paper eq. (8)).

    The one-hot pilot vectors are replaced by ``q_k`` (rows of ``probs``), i.e. ``P = q q^T``;
    with one-hot ``probs`` it equals :func:`sum_rate`. Use ``-soft_sum_rate(...).mean()`` as an
    unsupervised loss.

    Args:
        beta: ``(S, M, K)``.
        probs: ``(S, K, tau_p)``, rows summing to 1 (e.g. a softmax over the last dim).
        cfg: the system.

    Returns:
        ``(S,)`` sum-rates in Mbit/s, differentiable w.r.t. ``probs``.

    Raises:
        ValueError: wrong shape, values outside ``[0, 1]`` or rows not summing to 1
            (:func:`check_probs`), bad ``beta``.
    """
    check_probs(probs, cfg)
    return rates_from_copilot(beta, soft_copilot_matrix(probs), cfg).sum(-1) * rate_scale_mbps(cfg)
