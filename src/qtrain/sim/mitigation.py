"""Noise mitigation. Zero-noise extrapolation (ZNE): run at noise scale factors ``s >= 1``, extrapolate to ``s = 0``.

The noise is scaled by multiplying every channel probability by ``s`` (``NoiseModel.scale``; the
"probability scaling" variant of ZNE, exact in simulation). Two extrapolations (Temme et al. 2017,
Giurgica-Tiron et al. 2020):

* ``richardson``: the unique polynomial of degree ``len(scales) - 1`` through all points, read at 0:
  ``E_0 = sum_i E(s_i) prod_{j != i} s_j / (s_j - s_i)``. Exact when ``E(s)`` is such a polynomial
  (e.g. ``(1 - p s)^k <Z>_0`` for ``k < len(scales)`` noisy gates).
* ``linear``: least-squares line through the points, read at 0 (more robust at large noise).

Example:
    >>> import torch
    >>> zne(lambda s: torch.tensor([0.8 - 0.1 * s, 0.5 * (1 - 0.05 * s) ** 2]))
    tensor([0.8000, 0.5000])
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import Tensor

from qtrain.choices import ChoiceEnum, argument

__all__ = ["Extrapolation", "richardson_weights", "extrapolate", "zne", "DEFAULT_SCALES"]

DEFAULT_SCALES: tuple[float, ...] = (1.0, 2.0, 3.0)
"""Noise scale factors used unless told otherwise."""


@argument("method")
class Extrapolation(ChoiceEnum):
    """How the zero-noise value is read off the scaled runs."""

    RICHARDSON = "richardson"
    LINEAR = "linear"


def _check_scales(scales: Sequence[float]) -> list[float]:
    s = [float(v) for v in scales]
    if len(s) < 2 or len(set(s)) != len(s) or min(s) < 0:
        raise ValueError(f"scales={tuple(scales)!r} must hold >= 2 distinct factors >= 0, e.g. (1, 2, 3)")
    return s


def richardson_weights(scales: Sequence[float]) -> list[float]:
    """Weights ``w_i`` with ``E_0 = sum_i w_i E(s_i)`` (Lagrange basis at 0); they sum to 1.

    Example:
        >>> richardson_weights((1, 2, 3))
        [3.0, -3.0, 1.0]
    """
    s = _check_scales(scales)
    out = []
    for i, si in enumerate(s):
        w = 1.0
        for j, sj in enumerate(s):
            if j != i:
                w *= sj / (sj - si)
        out.append(w)
    return out


def extrapolate(scales: Sequence[float], values: Tensor, method: str | Extrapolation = "richardson") -> Tensor:
    """Zero-noise estimate from ``values (len(scales), ...)`` measured at ``scales``: ``(...)``.

    Example:
        >>> round(float(extrapolate((1, 2, 3), torch.tensor([0.9, 0.8, 0.7]), "linear")), 6)
        1.0
    """
    m = Extrapolation.parse(method)
    s = _check_scales(scales)
    if not isinstance(values, Tensor) or values.dim() < 1 or values.shape[0] != len(s):
        shape = tuple(values.shape) if isinstance(values, Tensor) else type(values).__name__
        raise ValueError(f"values has shape {shape}; expected ({len(s)}, ...): one entry per scale in {tuple(s)}")
    if m is Extrapolation.RICHARDSON:
        w = torch.tensor(richardson_weights(s), dtype=values.dtype, device=values.device)
        return torch.tensordot(w, values, dims=1)
    x = torch.tensor(s, dtype=values.dtype, device=values.device)
    xc = x - x.mean()
    flat = values.reshape(len(s), -1)
    slope = (xc[:, None] * (flat - flat.mean(0))).sum(0) / xc.square().sum()
    return (flat.mean(0) - slope * x.mean()).reshape(values.shape[1:])


def zne(fn: Callable[[float], Tensor], scales: Sequence[float] = DEFAULT_SCALES,
        method: str | Extrapolation = "richardson") -> Tensor:
    """Evaluate ``fn(scale)`` at each noise scale factor and extrapolate to zero noise.

    Args:
        fn: returns the noisy expectation(s) at a noise scale factor, any shape ``(...)``; e.g.
            ``lambda s: qcnn(x, noise_scale=s)``.
        scales: noise scale factors (default ``(1, 2, 3)``); each scaled probability must stay <= 1.
        method: ``"richardson"`` or ``"linear"``.

    Returns:
        The zero-noise estimate ``(...)`` (differentiable if ``fn`` is).
    """
    s = _check_scales(scales)
    Extrapolation.parse(method)
    return extrapolate(s, torch.stack([fn(v) for v in s]), method)
