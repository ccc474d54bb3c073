"""Geometry and large-scale fading: wrap-around distances, three-slope path loss, shadowing.

Scenarios (AP and user drops with their large-scale fading ``beta``) are generated batched
over ``S`` scenarios from one seed, and can be cached on disk as ``.npz`` files keyed by the
config fields that shape them, the number of scenarios and the seed.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from qtrain._fileio import atomic_write, clean_stale_temps, read_npz
from qtrain.wireless.config import Shadowing, SystemConfig

__all__ = ["Scenarios", "make_scenarios", "wraparound_distance", "path_loss_db", "shadowing_db",
           "scenario_cache_path"]

_CACHE_VERSION = 1
# Config fields that change beta or the positions; rate-only fields (powers, tau_c, xi...) do not.
_GEOMETRY_FIELDS = ("M", "K", "area_side_km", "wrap_around", "carrier_mhz", "h_ap_m", "h_ue_m", "path_loss_db",
                    "d0_km", "d1_km", "shadowing", "shadow_std_db", "shadow_delta", "decorrelation_km")


@dataclass(frozen=True)
class Scenarios:
    """A batch of ``S`` drops of one system.

    Attributes:
        beta: large-scale fading ``(S, M, K)`` float64 (linear, not divided by the noise power).
        ap_pos: AP positions ``(S, M, 2)`` in km, inside ``[0, D)^2``.
        ue_pos: user positions ``(S, K, 2)`` in km, inside ``[0, D)^2``.
    """

    beta: Tensor
    ap_pos: Tensor
    ue_pos: Tensor

    def __len__(self) -> int:
        return int(self.beta.shape[0])

    def __getitem__(self, idx: int | slice | Tensor) -> Scenarios:
        if isinstance(idx, int):
            idx = slice(idx, idx + 1)
        return Scenarios(self.beta[idx], self.ap_pos[idx], self.ue_pos[idx])


def wraparound_distance(a: Tensor, b: Tensor, side: float, wrap: bool = True) -> Tensor:
    """Pairwise 2-D distances, on the torus of side ``side`` when ``wrap``.

    With wrap-around the distance is the minimum over the 9 shifted copies of the square,
    so it never exceeds ``side * sqrt(2) / 2``. Points must lie in ``[0, side)^2``.

    Args:
        a: ``(..., Na, 2)`` positions.
        b: ``(..., Nb, 2)`` positions.
        side: side ``D`` of the square (same unit as the positions).
        wrap: measure on the torus (default) or in the plane.

    Returns:
        ``(..., Na, Nb)`` distances.

    Example:
        >>> a = torch.tensor([[0.05, 0.5]]); b = torch.tensor([[0.95, 0.5]])
        >>> round(float(wraparound_distance(a, b, 1.0)), 6)
        0.1
    """
    delta = (a[..., :, None, :] - b[..., None, :, :]).abs()
    if wrap:
        delta = torch.minimum(delta, side - delta)
    return delta.square().sum(-1).sqrt()


def path_loss_db(d_km: Tensor, cfg: SystemConfig) -> Tensor:
    """Three-slope path loss (dB, negative) of Ngo et al. with the Hata constant of ``cfg``.

    ``-L - 35 log10 d`` beyond ``d1``; ``-L - 15 log10 d1 - 20 log10 d`` between ``d0`` and
    ``d1``; flat below ``d0`` (d in km). Defaults give -81.20 dB at <= 10 m, -95.18 dB at 50 m,
    -105.72 dB at 100 m and -130.18 dB at 500 m.

    Args:
        d_km: distances, any shape.
        cfg: system constants (``d0_km``, ``d1_km``, ``path_loss_constant_db``).

    Returns:
        Path loss in dB, same shape as ``d_km``.
    """
    big_l, d0, d1 = cfg.path_loss_constant_db, cfg.d0_km, cfg.d1_km
    far = -big_l - 35.0 * torch.log10(d_km.clamp_min(d1))
    mid = -big_l - 15.0 * math.log10(d1) - 20.0 * torch.log10(d_km.clamp(min=d0, max=d1))
    return torch.where(d_km > d1, far, mid)


def _sqrtm_psd(c: Tensor) -> Tensor:
    w, v = torch.linalg.eigh(c)
    return (v * w.clamp_min(0.0).sqrt()[..., None, :]) @ v.transpose(-1, -2)


def shadowing_db(cfg: SystemConfig, ap_pos: Tensor, ue_pos: Tensor, gen: torch.Generator) -> Tensor:
    """Shadowing ``sigma_sh * z_mk`` in dB, ``(S, M, K)``, before the ``d > d1`` mask.

    Uncorrelated: ``z_mk ~ N(0, 1)`` i.i.d. Correlated (Ngo et al. eqs. (54)-(56)):
    ``z_mk = sqrt(delta) a_m + sqrt(1 - delta) b_k`` with ``E[a_m a_m'] = 2^(-d(m, m')/d_decorr)``
    and likewise for users, drawn through the matrix square roots of those correlations.
    """
    s, m, k = ap_pos.shape[0], ap_pos.shape[1], ue_pos.shape[1]
    opts = {"dtype": torch.float64, "generator": gen}
    if cfg.shadowing == Shadowing.NONE:
        return torch.zeros(s, m, k, dtype=torch.float64)
    if cfg.shadowing == Shadowing.UNCORRELATED:
        return cfg.shadow_std_db * torch.randn(s, m, k, **opts)
    d_ap = wraparound_distance(ap_pos, ap_pos, cfg.area_side_km, cfg.wrap_around)
    d_ue = wraparound_distance(ue_pos, ue_pos, cfg.area_side_km, cfg.wrap_around)
    a = (_sqrtm_psd(2.0 ** (-d_ap / cfg.decorrelation_km)) @ torch.randn(s, m, 1, **opts))[..., 0]
    b = (_sqrtm_psd(2.0 ** (-d_ue / cfg.decorrelation_km)) @ torch.randn(s, k, 1, **opts))[..., 0]
    z = math.sqrt(cfg.shadow_delta) * a[:, :, None] + math.sqrt(1.0 - cfg.shadow_delta) * b[:, None, :]
    return cfg.shadow_std_db * z


def _generate(cfg: SystemConfig, n: int, seed: int) -> Scenarios:
    gen = torch.Generator().manual_seed(seed)
    side = cfg.area_side_km
    ap = side * torch.rand(n, cfg.M, 2, dtype=torch.float64, generator=gen)
    ue = side * torch.rand(n, cfg.K, 2, dtype=torch.float64, generator=gen)
    d = wraparound_distance(ap, ue, side, cfg.wrap_around)
    sh = shadowing_db(cfg, ap, ue, gen)
    pl = path_loss_db(d, cfg) + torch.where(d > cfg.d1_km, sh, torch.zeros_like(sh))
    return Scenarios(beta=10.0 ** (pl / 10.0), ap_pos=ap, ue_pos=ue)


def scenario_cache_path(cfg: SystemConfig, n: int, seed: int, cache_dir: str | Path) -> Path:
    """Cache file for ``(cfg geometry fields, n, seed)`` under ``cache_dir``."""
    fields = cfg.to_dict()
    key = {f: fields[f] for f in _GEOMETRY_FIELDS}
    key.update(n=n, seed=seed, version=_CACHE_VERSION)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return Path(cache_dir) / f"cfmimo_M{cfg.M}_K{cfg.K}_n{n}_s{seed}_{digest}.npz"


def _save_atomic(path: Path, sc: Scenarios) -> None:
    arrays = {"beta": sc.beta.numpy(), "ap_pos": sc.ap_pos.numpy(), "ue_pos": sc.ue_pos.numpy()}
    atomic_write(path, lambda fh: np.savez(fh, **arrays))


def _load_cached(path: Path, cfg: SystemConfig, n: int) -> Scenarios | None:
    """The cached scenarios, or ``None`` when the file is damaged or does not fit (it is then regenerated)."""
    try:
        z = read_npz(path, ("beta", "ap_pos", "ue_pos"))
    except ValueError:
        return None
    shapes = {"beta": (n, cfg.M, cfg.K), "ap_pos": (n, cfg.M, 2), "ue_pos": (n, cfg.K, 2)}
    if any(z[k].shape != s or z[k].dtype != np.float64 or not np.isfinite(z[k]).all() for k, s in shapes.items()):
        return None
    return Scenarios(*(torch.from_numpy(z[k].copy()) for k in ("beta", "ap_pos", "ue_pos")))


def make_scenarios(cfg: SystemConfig, n: int, seed: int | None = None,
                   cache_dir: str | Path | None = None) -> Scenarios:
    """``n`` independent drops of ``cfg``, deterministic in ``seed`` (default ``cfg.seed``).

    APs and users are uniform in the ``D x D`` square; ``beta = 10^((PL + shadowing)/10)`` with
    shadowing only on links longer than ``d1``. With ``cache_dir`` the result is read from, or
    written atomically to, ``scenario_cache_path(cfg, n, seed, cache_dir)``; a damaged cache file
    is regenerated.

    Args:
        cfg: the system.
        n: number of scenarios ``S``.
        seed: generator seed; the same seed always gives the same scenarios.
        cache_dir: optional folder for the ``.npz`` cache.

    Returns:
        :class:`Scenarios` with ``beta (S, M, K)``, ``ap_pos (S, M, 2)``, ``ue_pos (S, K, 2)``.

    Example:
        >>> sc = make_scenarios(SystemConfig(M=10, K=6, tau_p=3), n=4, seed=1)
        >>> tuple(sc.beta.shape)
        (4, 10, 6)
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n={n!r} must be a positive integer number of scenarios")
    seed = cfg.seed if seed is None else seed
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative integer")
    if cache_dir is None:
        return _generate(cfg, n, seed)
    path = scenario_cache_path(cfg, n, seed, cache_dir)
    clean_stale_temps(path.parent, recursive=False)
    cached = _load_cached(path, cfg, n) if path.is_file() else None
    if cached is not None:
        return cached
    sc = _generate(cfg, n, seed)
    _save_atomic(path, sc)
    return sc
