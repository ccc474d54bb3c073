"""Validation of the tensors handed to the native kernels (only their data pointers cross)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

__all__ = [
    "DTYPE_CODE",
    "ESIZE",
    "Wires",
    "any_overlap",
    "as_wires",
    "check_mats",
    "check_state",
    "out_like",
    "overlap",
]

DTYPE_CODE = {torch.float32: 0, torch.float64: 1, torch.complex64: 2, torch.complex128: 3}
ESIZE = (4, 8, 8, 16)  # bytes per element, by dtype code

Wires = Sequence[int] | torch.Tensor | Iterable[int]


def check_state(t: torch.Tensor, name: str, inplace: bool = True) -> tuple[int, int, int]:
    """Validate a ``(B, 2**n)`` CPU contiguous state; return ``(B, n, dtype code)``.

    With ``inplace`` a lazy conj/neg bit is an error (the kernel would write the raw memory).
    """
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    code = DTYPE_CODE.get(t.dtype)
    if code is None:
        raise ValueError(f"{name} must be float32/float64/complex64/complex128, got {t.dtype}")
    if not t.is_cpu:
        raise ValueError(f"{name} must be on CPU, got {t.device}")
    shp = t.shape
    if len(shp) != 2:
        raise ValueError(f"{name} must have shape (B, 2**n), got {tuple(shp)}")
    if not t.is_contiguous():
        raise ValueError(f"{name} must be contiguous")
    if inplace and ((code >= 2 and t.is_conj()) or t.is_neg()):
        raise ValueError(f"{name} has a lazy conj/neg bit; call resolve_conj()/resolve_neg() first")
    N = shp[1]
    n = N.bit_length() - 1
    if N < 1 or (1 << n) != N:
        raise ValueError(f"{name}.shape[1] must be a power of two, got {N}")
    return shp[0], n, code


def check_mats(mats: torch.Tensor, dtype: torch.dtype, B: int, nw: int) -> tuple[torch.Tensor, int]:
    """Validate layer matrices ``(nw, 2, 2)`` (shared) or ``(B, nw, 2, 2)`` (per sample).

    Returns the matrices as a contiguous tensor without lazy bits (only its data pointer is used:
    no autograd involvement) and 1 when they are per sample, else 0.
    """
    if not isinstance(mats, torch.Tensor):
        raise ValueError(f"mats must be a torch.Tensor, got {type(mats).__name__}")
    if mats.dtype != dtype:
        raise ValueError(f"mats dtype {mats.dtype} does not match state dtype {dtype}")
    if not mats.is_cpu:
        raise ValueError(f"mats must be on CPU, got {mats.device}")
    shp = mats.shape
    if shp == (nw, 2, 2):
        per_sample = 0
    elif shp == (B, nw, 2, 2):
        per_sample = 1
    else:
        raise ValueError(f"mats must have shape ({nw}, 2, 2) or ({B}, {nw}, 2, 2), got {tuple(shp)}")
    if (dtype.is_complex and mats.is_conj()) or mats.is_neg():
        mats = mats.detach().resolve_conj().resolve_neg()
    if not mats.is_contiguous():
        mats = mats.detach().contiguous()
    return mats, per_sample


def as_wires(wires: Wires) -> Sequence[int]:
    """Wires as a sequence of ints (the extension checks range and distinctness)."""
    if isinstance(wires, torch.Tensor):
        return wires.tolist()
    if isinstance(wires, (list, tuple)):
        return wires
    try:
        return list(wires)
    except TypeError:
        raise ValueError("wires must be a sequence of ints") from None


def out_like(out: torch.Tensor | None, ref: torch.Tensor, name: str) -> torch.Tensor:
    """``out`` checked to match ``ref`` (shape, dtype), or a new contiguous tensor like it."""
    if out is None:
        return torch.empty_like(ref, memory_format=torch.contiguous_format)
    check_state(out, name)
    if out.shape != ref.shape or out.dtype != ref.dtype:
        raise ValueError(
            f"{name} must match (shape {tuple(ref.shape)}, {ref.dtype}), got {tuple(out.shape)}, {out.dtype}"
        )
    return out


def _span(t: torch.Tensor) -> tuple[int, int]:
    p = t.data_ptr()
    return p, p + t.numel() * t.element_size()


def overlap(a: torch.Tensor, b: torch.Tensor) -> bool:
    """True when the memory of two (non-empty) tensors overlaps."""
    (a0, a1), (b0, b1) = _span(a), _span(b)
    return a0 < a1 and b0 < b1 and a0 < b1 and b0 < a1


def any_overlap(*ts: torch.Tensor) -> bool:
    """True when the memory of any two of the (non-empty) tensors overlaps."""
    sp = sorted(s for s in map(_span, ts) if s[0] < s[1])
    return any(sp[i + 1][0] < sp[i][1] for i in range(len(sp) - 1))
