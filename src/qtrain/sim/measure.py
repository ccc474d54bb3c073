"""Measurements on flat ``(B, 2**n)`` statevectors: probabilities, marginals, Pauli expectations, shots."""
from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import torch
from torch import Tensor

from qtrain.sim.apply import apply_1q

__all__ = ["probs", "marginal", "expval_z", "probs_fn", "expval_fn", "sample_counts", "sample_bits", "check_wires"]

_OBS = ("X", "Y", "Z")


def check_wires(wires: Iterable[int], n: int) -> tuple[int, ...]:
    ws = tuple(wires)
    for w in ws:
        if not isinstance(w, int) or not 0 <= w < n:
            raise ValueError(f"wire {w!r} is out of range for a {n}-qubit circuit; use 0..{n - 1}")
    if len(set(ws)) != len(ws):
        raise ValueError(f"wires {ws} must be distinct")
    return ws


def probs(state: Tensor) -> Tensor:
    """``|psi|**2`` as a real ``(B, 2**n)`` tensor."""
    return state.abs().square() if state.is_complex() else state.square()


def marginal(p: Tensor, n: int, wires: tuple[int, ...]) -> Tensor:
    """Marginal probabilities of ``wires`` (in the given order, first most significant)."""
    b = p.shape[0]
    rest = [1 + q for q in range(n) if q not in wires]
    t = p.reshape(b, *([2] * n))
    if rest:
        t = t.sum(dim=rest)
    order = sorted(wires)
    perm = [0] + [1 + order.index(w) for w in wires]
    return t.permute(*perm).reshape(b, 2 ** len(wires))


def expval_z(p: Tensor, n: int, wires: tuple[int, ...]) -> Tensor:
    """``<Z_w>`` for each wire from basis probabilities: ``(B, len(wires))``."""
    b = p.shape[0]
    out = []
    for w in wires:
        t = p.reshape(b, 2**w, 2, 2 ** (n - w - 1)).sum(dim=(1, 3))
        out.append(t[:, 0] - t[:, 1])
    return torch.stack(out, dim=1)


_HADAMARD = torch.tensor([[1.0, 1.0], [1.0, -1.0]], dtype=torch.float64) / 2**0.5
# S^dagger then H maps the Y eigenbasis onto the Z eigenbasis.
_Y_TO_Z = torch.tensor([[1.0, -1j], [1.0, 1j]], dtype=torch.complex128) / 2**0.5


def sample_counts(p: Tensor, shots: int, generator: torch.Generator | None = None) -> Tensor:
    """Multinomial counts ``(B, 2**n)`` (int64) of ``shots`` measurements per sample."""
    if not isinstance(shots, int) or shots < 1:
        raise ValueError(f"shots={shots!r} must be a positive integer")
    seed = int(torch.randint(0, 2**62, (1,), generator=generator).item())
    rng = np.random.default_rng(seed)
    pv = p.detach().to("cpu", torch.float64).numpy()
    pv = np.clip(pv, 0.0, None)
    pv = pv / pv.sum(axis=1, keepdims=True)
    return torch.from_numpy(rng.multinomial(shots, pv)).to(p.device)


def sample_bits(p: Tensor, n: int, shots: int, generator: torch.Generator | None = None) -> Tensor:
    """``shots`` bitstrings per sample, int64 ``(B, shots, n)``, qubit 0 first."""
    if not isinstance(shots, int) or shots < 1:
        raise ValueError(f"shots={shots!r} must be a positive integer")
    idx = torch.multinomial(p.detach().float().clamp_min(0), shots, replacement=True, generator=generator)
    shifts = torch.arange(n - 1, -1, -1, device=p.device)
    return (idx[..., None] >> shifts) & 1


def probs_fn(shots: int | None, generator: torch.Generator | None) -> Callable[[Tensor], Tensor]:
    """Exact probabilities, or their ``shots``-sample estimate."""
    if shots is None:
        return probs

    def fn(state: Tensor) -> Tensor:
        p = probs(state)
        return sample_counts(p, shots, generator).to(p.dtype) / shots

    return fn


def expval_fn(n: int, wires: tuple[int, ...], observable: str, shots: int | None,
              generator: torch.Generator | None) -> Callable[[Tensor], Tensor]:
    """``<P_w>`` for a single-qubit Pauli ``observable`` on each wire."""
    obs = str(observable).upper()
    if obs not in _OBS:
        raise ValueError(f"observable={observable!r} is not supported; use one of {list(_OBS)}")
    pf = probs_fn(shots, generator)

    def fn(state: Tensor) -> Tensor:
        if obs == "Z":
            return expval_z(pf(state), n, wires)
        s = state
        if obs == "Y" and not s.is_complex():
            s = s.to(torch.complex128 if s.dtype == torch.float64 else torch.complex64)
        rot = (_HADAMARD if obs == "X" else _Y_TO_Z).to(device=s.device, dtype=s.dtype)
        cols = [expval_z(pf(apply_1q(s, n, w, rot)), n, (w,)) for w in wires]
        return torch.cat(cols, dim=1)

    return fn
