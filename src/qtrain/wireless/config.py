"""System configuration of the cell-free massive MIMO model (HQCNN paper, Ngo et al. 2017).

Every constant of the model lives in :class:`SystemConfig`; derived quantities (noise power,
normalised SNRs, the Hata constant of the three-slope path loss) are properties. A config is
validated whole at construction and all of its problems are reported in one ``ValueError``.

Defaults follow the HQCNN paper (Nguyen et al., arXiv 2507.06585, Sec. IV) and, where it is
silent, Ngo et al., "Cell-free massive MIMO versus small cells", IEEE TWC 16(3), 2017.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from qtrain.choices import ChoiceEnum

__all__ = ["RateModel", "Shadowing", "SystemConfig", "BOLTZMANN"]

BOLTZMANN = 1.381e-23
"""Boltzmann constant as written in Ngo et al.'s and the public codes' noise formula (J/K)."""


class RateModel(ChoiceEnum):
    """Which downlink rate expression scores a pilot assignment.

    ``closed_form`` (default) is the conjugate-beamforming closed form of the paper's eq. (3)
    (Ngo et al. eq. (24) generalised to ``L`` antennas). ``paper_code_compat`` reproduces the
    numpy ``calculate_dl_rate`` of the paper's public code (``HieuND-VN/PiAss-CFmMIMO``,
    ``benchmark.py``), including its bug: ``sum_term_1``/``sum_term_3`` are *assigned* inside
    their loops instead of accumulated, so only the last user's coherent term and the last
    (AP, user) pair's non-coherent term survive; it has no bandwidth, no antenna count ``L``
    and ``eta = 1 / sum_k gamma``. It is read with the ``(1 - tau_p/tau_c)`` pre-log. On
    qtrain's geometry it is much closer to the magnitudes of the paper's Table II than the
    correct model, but it does not match them: over the 35 Table II cells of the heuristics and
    of exhaustive search (K <= 12), ``run_table2(list(TABLE_II), n=200, seed=2025)`` against the
    paper's numbers (``qtrain.recipes.hqcnn_pilot.paper.PAPER_TABLE_II``) gives a mean
    ``|ours / paper - 1|`` of 33.6 % (12.6-67.9 %) for this model and 640 % (476-797 %) for
    ``closed_form``. It exists only to
    regenerate Table II side by side with the correct model; never use it to judge an assignment.
    """

    CLOSED_FORM = "closed_form"
    PAPER_CODE_COMPAT = "paper_code_compat"


class Shadowing(ChoiceEnum):
    """Log-normal shadowing model (applied only to links longer than ``d1_km``)."""

    NONE = "none"
    UNCORRELATED = "uncorrelated"  # z_mk ~ N(0, 1) i.i.d.
    CORRELATED = "correlated"  # Ngo et al. eqs. (54)-(56): sqrt(delta) a_m + sqrt(1 - delta) b_k


@dataclass(frozen=True)
class SystemConfig:
    """One cell-free massive MIMO system: geometry, powers, fading and rate convention.

    Example:
        >>> cfg = SystemConfig(M=10, L=2, K=6, tau_p=3)
        >>> round(cfg.noise_power_dbm, 2), round(cfg.path_loss_constant_db, 4)
        (-91.96, 140.7151)
    """

    M: int = 10
    """Number of access points."""
    L: int = 2
    """Antennas per access point."""
    K: int = 6
    """Number of single-antenna users."""
    tau_p: int = 3
    """Number of orthogonal pilots (= pilot length in samples)."""
    tau_c: int = 200
    """Coherence interval in samples (only enters through the optional pre-log)."""
    area_side_km: float = 1.0
    """Side D of the square service area (km); 1 km gives the paper's 1 km^2."""
    wrap_around: bool = True
    """Measure distances on the torus (9 shifted copies), as Ngo et al. and Bjornson's code do."""
    pilot_power_w: float = 0.1
    """Pilot transmit power per user (W)."""
    ap_power_w: float = 0.2
    """Downlink transmit power per AP, over all its antennas (W)."""
    bandwidth_hz: float = 20e6
    """System bandwidth B (Hz)."""
    noise_figure_db: float = 9.0
    """Receiver noise figure (dB)."""
    temperature_k: float = 290.0
    """Noise temperature T0 (K)."""
    carrier_mhz: float = 1900.0
    """Carrier frequency for the Hata constant (MHz)."""
    h_ap_m: float = 15.0
    """AP antenna height for the Hata constant (m)."""
    h_ue_m: float = 1.65
    """User antenna height for the Hata constant (m)."""
    path_loss_db: float | None = None
    """Override of the Hata constant L (dB), e.g. the paper's rounded 141; ``None`` computes 140.7151."""
    d0_km: float = 0.01
    """First break point of the three-slope path loss (km)."""
    d1_km: float = 0.05
    """Second break point (km); shadowing only beyond it."""
    shadowing: Shadowing | str = Shadowing.UNCORRELATED
    """``"uncorrelated"`` (default), ``"correlated"`` or ``"none"``."""
    shadow_std_db: float = 8.0
    """Shadowing standard deviation sigma_sh (dB)."""
    shadow_delta: float = 0.5
    """Correlated shadowing: weight delta of the AP component (Ngo eq. (54))."""
    decorrelation_km: float = 0.1
    """Correlated shadowing: decorrelation distance (km)."""
    rate_model: RateModel | str = RateModel.CLOSED_FORM
    """``"closed_form"`` (default) or ``"paper_code_compat"`` (see :class:`RateModel`)."""
    xi: float = 1.0
    """Fraction of the data phase spent in the downlink (Ngo reports net throughput with 1/2)."""
    pilot_overhead: bool = False
    """Multiply rates by ``(1 - tau_p/tau_c)``; the paper's eq. (3) does not, so off by default."""
    seed: int = 0
    """Default seed of :func:`~qtrain.wireless.channel.make_scenarios`."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "shadowing", Shadowing.parse(self.shadowing, "shadowing"))
        object.__setattr__(self, "rate_model", RateModel.parse(self.rate_model, "rate_model"))
        problems = _problems(self)
        if problems:
            raise ValueError("invalid SystemConfig: " + "; ".join(problems))

    # ---- derived quantities -------------------------------------------------------------
    @property
    def noise_power_w(self) -> float:
        """Noise power ``B k_B T0 NF`` (W): 6.362e-13 W for the defaults."""
        return self.bandwidth_hz * BOLTZMANN * self.temperature_k * 10 ** (self.noise_figure_db / 10)

    @property
    def noise_power_dbm(self) -> float:
        """Noise power in dBm: -91.96 dBm for the defaults."""
        return 10 * math.log10(self.noise_power_w) + 30

    @property
    def rho_p(self) -> float:
        """Normalised pilot SNR ``pilot_power_w / noise_power_w``."""
        return self.pilot_power_w / self.noise_power_w

    @property
    def rho_d(self) -> float:
        """Normalised downlink SNR per AP ``ap_power_w / noise_power_w``."""
        return self.ap_power_w / self.noise_power_w

    @property
    def path_loss_constant_db(self) -> float:
        """Hata constant L of the three-slope model (dB): 140.7151 for the defaults."""
        if self.path_loss_db is not None:
            return float(self.path_loss_db)
        f, hb, hm = self.carrier_mhz, self.h_ap_m, self.h_ue_m
        return (46.3 + 33.9 * math.log10(f) - 13.82 * math.log10(hb)
                - (1.1 * math.log10(f) - 0.7) * hm + (1.56 * math.log10(f) - 0.8))

    @property
    def prelog(self) -> float:
        """Factor in front of ``log2(1 + SINR)`` in the closed-form model.

        ``xi * (1 - tau_p/tau_c)`` with ``pilot_overhead=True``, else ``xi`` (the paper's eq. (3):
        ``R_k = B log2(1 + SINR_k)``, i.e. ``xi = 1`` and no pilot overhead).
        """
        return self.xi * ((1.0 - self.tau_p / self.tau_c) if self.pilot_overhead else 1.0)

    def replace(self, **changes: Any) -> SystemConfig:
        """A copy with ``changes`` applied (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (enums as their values)."""
        d = asdict(self)
        d["shadowing"] = Shadowing(self.shadowing).value
        d["rate_model"] = RateModel(self.rate_model).value
        return d


def _problems(c: SystemConfig) -> list[str]:
    """Every violated constraint of ``c``, each naming the field, its value and the fix."""
    out: list[str] = []
    for name in ("M", "L", "K", "tau_p", "tau_c"):
        v = getattr(c, name)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            out.append(f"{name}={v!r} must be an integer >= 1")
    if isinstance(c.tau_p, int) and isinstance(c.tau_c, int) and c.tau_c <= c.tau_p:
        out.append(f"tau_c={c.tau_c!r} must exceed tau_p={c.tau_p!r} (pilots use part of the coherence interval)")
    positive = ("area_side_km", "pilot_power_w", "ap_power_w", "bandwidth_hz", "temperature_k", "carrier_mhz",
                "h_ap_m", "h_ue_m", "d0_km", "d1_km", "decorrelation_km", "xi")
    for name in positive:
        v = getattr(c, name)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v <= 0:
            out.append(f"{name}={v!r} must be a finite number > 0")
    if _num(c.d0_km) and _num(c.d1_km) and c.d0_km >= c.d1_km:
        out.append(f"d0_km={c.d0_km!r} must be smaller than d1_km={c.d1_km!r}")
    if not _num(c.shadow_std_db) or c.shadow_std_db < 0:
        out.append(f"shadow_std_db={c.shadow_std_db!r} must be a finite number >= 0")
    if not _num(c.shadow_delta) or not 0.0 <= c.shadow_delta <= 1.0:
        out.append(f"shadow_delta={c.shadow_delta!r} must lie in [0, 1]")
    if not _num(c.noise_figure_db):
        out.append(f"noise_figure_db={c.noise_figure_db!r} must be a finite number")
    if c.path_loss_db is not None and not _num(c.path_loss_db):
        out.append(f"path_loss_db={c.path_loss_db!r} must be a finite number or None")
    if not isinstance(c.seed, int) or isinstance(c.seed, bool) or c.seed < 0:
        out.append(f"seed={c.seed!r} must be a non-negative integer")
    return out


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
