"""Differentiable point-to-point links at a set SNR: AWGN and Rayleigh fading with equalisation.

A semantic encoder emits ``k`` real features per sample. :func:`to_symbols` pairs them into
``ceil(k / 2)`` complex channel symbols (feature ``2i`` is the in-phase part, ``2i + 1`` the
quadrature part; an odd ``k`` is padded with one zero) and :func:`power_normalize` scales each
sample to unit average symbol power, ``mean_i |s_i|^2 = 1`` (the transmitter's power
constraint). The channel then draws, per symbol,

* ``awgn``: ``y = s + n``,
* ``rayleigh``: ``y = h s + n`` with ``h ~ CN(0, 1)`` independent per symbol (fast fading),
  equalised at a receiver with perfect CSI: zero forcing ``s_hat = y / h`` or MMSE
  ``s_hat = conj(h) y / (|h|^2 + N0)``,

with ``n ~ CN(0, N0)`` and ``N0 = 10^(-SNR_dB / 10)``, so ``SNR = E|s|^2 / N0`` (per-symbol,
average over fading for Rayleigh). Noise is added by reparameterisation, so gradients flow from
the receiver back to the encoder. The SNR may be one number or one per sample.

Example:
    >>> import torch
    >>> link = Link("awgn", snr_db=10.0)
    >>> z = torch.randn(4, 6)
    >>> link(z, generator=torch.Generator().manual_seed(0)).shape
    torch.Size([4, 6])
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from qtrain.choices import ChoiceEnum, argument

__all__ = ["ChannelKind", "Equalizer", "Link", "Transmission", "to_symbols", "from_symbols", "power_normalize",
           "noise_power"]


@argument("channel")
class ChannelKind(ChoiceEnum):
    """The link's channel model."""

    AWGN = "awgn"
    RAYLEIGH = "rayleigh"


@argument("equalizer")
class Equalizer(ChoiceEnum):
    """How a Rayleigh receiver undoes the fading (perfect CSI)."""

    ZF = "zf"  # zero forcing: y / h (noise enhancement in deep fades)
    MMSE = "mmse"  # conj(h) y / (|h|^2 + N0): bounded gain


def noise_power(snr_db: float | Tensor) -> Tensor:
    """``N0 = 10^(-SNR_dB / 10)`` for unit signal power."""
    return torch.pow(10.0, -torch.as_tensor(snr_db, dtype=torch.float64) / 10.0)


def to_symbols(z: Tensor) -> Tensor:
    """Real features ``(..., k)`` -> complex symbols ``(..., ceil(k / 2))`` (I/Q pairs, zero-padded)."""
    if z.shape[-1] % 2:
        z = torch.cat([z, z.new_zeros(*z.shape[:-1], 1)], dim=-1)
    pairs = z.reshape(*z.shape[:-1], -1, 2)
    return torch.complex(pairs[..., 0].contiguous(), pairs[..., 1].contiguous())


def from_symbols(s: Tensor, k: int) -> Tensor:
    """Complex symbols ``(..., m)`` -> the first ``k`` real features ``(..., k)``."""
    return torch.view_as_real(s).reshape(*s.shape[:-1], -1)[..., :k]


def power_normalize(s: Tensor, eps: float = 1e-12) -> Tensor:
    """Scale complex symbols ``(..., m)`` so that every sample has ``mean |s|^2 = 1``."""
    power = s.abs().square().mean(-1, keepdim=True)
    return s / torch.sqrt(power + eps)


@dataclass
class Transmission:
    """One use of the channel: sent symbols ``s``, fading ``h`` (ones for AWGN), noise ``n``, received ``y``."""

    s: Tensor
    h: Tensor
    n: Tensor
    y: Tensor


def _check_snr(snr_db: float | Tensor) -> None:
    t = torch.as_tensor(snr_db, dtype=torch.float64)
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"snr_db={snr_db!r} must be finite (in dB, e.g. 10.0)")


def _complex_normal(shape: torch.Size, var: Tensor, like: Tensor, generator: torch.Generator | None) -> Tensor:
    re = torch.randn(shape, generator=generator, device=like.device, dtype=like.real.dtype)
    im = torch.randn(shape, generator=generator, device=like.device, dtype=like.real.dtype)
    return torch.complex(re, im) * torch.sqrt(var / 2)


class Link(nn.Module):
    """A differentiable link: real features ``(..., k)`` in, equalised real features ``(..., k)`` out.

    Args:
        channel: ``"awgn"`` or ``"rayleigh"``.
        snr_db: default SNR in dB (overridden per call, per sample if a ``(B,)`` tensor).
        equalizer: ``"mmse"`` (default) or ``"zf"`` for Rayleigh.
        normalize: apply :func:`power_normalize` before the channel (the transmitter's power constraint).

    Shapes:
        ``forward(z (..., k), snr_db: float | (...,)) -> (..., k)``.
    """

    def __init__(self, channel: str = "awgn", snr_db: float = 10.0, equalizer: str = "mmse",
                 normalize: bool = True) -> None:
        super().__init__()
        self.channel = ChannelKind.parse(channel)
        self.equalizer = Equalizer.parse(equalizer)
        _check_snr(snr_db)
        self.snr_db, self.normalize = float(snr_db), normalize

    def transmit(self, s: Tensor, snr_db: float | Tensor | None = None,
                 generator: torch.Generator | None = None) -> Transmission:
        """Send complex symbols ``s (..., m)`` as they are; returns every term of ``y = h s + n``."""
        snr = self.snr_db if snr_db is None else snr_db
        _check_snr(snr)
        n0 = noise_power(snr).to(device=s.device, dtype=s.real.dtype)
        if n0.dim():
            n0 = n0.reshape(*n0.shape, *([1] * (s.dim() - n0.dim())))  # per sample -> broadcast over symbols
        noise = _complex_normal(s.shape, n0, s, generator)
        if self.channel is ChannelKind.AWGN:
            h = torch.ones_like(s)
        else:
            h = _complex_normal(s.shape, torch.ones((), dtype=s.real.dtype, device=s.device), s, generator)
        return Transmission(s, h, noise, h * s + noise)

    def equalize(self, tx: Transmission, snr_db: float | Tensor | None = None) -> Tensor:
        """The receiver's estimate of ``s`` from ``y`` (identity for AWGN)."""
        if self.channel is ChannelKind.AWGN:
            return tx.y
        if self.equalizer is Equalizer.ZF:
            return tx.y / tx.h
        n0 = noise_power(self.snr_db if snr_db is None else snr_db).to(device=tx.y.device, dtype=tx.y.real.dtype)
        if n0.dim():
            n0 = n0.reshape(*n0.shape, *([1] * (tx.y.dim() - n0.dim())))
        return tx.h.conj() * tx.y / (tx.h.abs().square() + n0)

    def forward(self, z: Tensor, snr_db: float | Tensor | None = None,
                generator: torch.Generator | None = None) -> Tensor:
        if not isinstance(z, Tensor) or z.dim() < 1 or z.is_complex():
            raise ValueError("Link input must be a real tensor (..., k) of features")
        k = z.shape[-1]
        s = to_symbols(z)
        if self.normalize:
            s = power_normalize(s)
        tx = self.transmit(s, snr_db, generator)
        return from_symbols(self.equalize(tx, snr_db), k)

    def extra_repr(self) -> str:
        eq = f", equalizer={self.equalizer.value!r}" if self.channel is ChannelKind.RAYLEIGH else ""
        return f"channel={self.channel.value!r}, snr_db={self.snr_db}{eq}, normalize={self.normalize}"

