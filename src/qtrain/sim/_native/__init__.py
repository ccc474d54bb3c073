"""Optional native (C) kernels for the state-vector simulator's hot loops.

Everything here works on CPU, C-contiguous state tensors of shape ``(B, 2**n)``
(batch first) with dtype float32, float64, complex64 or complex128.  Qubit ``q`` is
bit ``n-1-q`` of the basis index (qubit 0 = most significant bit).

``AVAILABLE`` says whether the compiled extension could be imported; if not,
``unavailable_reason`` says why and every kernel raises ``RuntimeError`` (the
simulator then uses its pure-torch path).  Set ``QTRAIN_DISABLE_NATIVE=1`` to force
the fallback.

Kernels (``nthreads=None`` means ``torch.get_num_threads()``):

``layer_apply_(state, wires, mats, nthreads=None) -> None``
    In place: for every sample and every ``i``, apply the 2x2 matrix ``mats[i]``
    (shared, shape ``(nw, 2, 2)``) or ``mats[b, i]`` (per sample, shape
    ``(B, nw, 2, 2)``) to qubit ``wires[i]``.  Wires must be distinct.

``layer_adjoint_(psi, g, wires, mats, nthreads=None) -> cross``
    ``psi``: state right after the layer, ``g``: gradient w.r.t. it (torch
    convention, ``dL/d conj(psi)`` for complex).  Returns ``cross`` with
    ``cross[(b,) i, r, c] = sum_{k: bit_w(k)=r} g[k] * conj(psi[k with bit_w=c])``
    (summed over the batch for shared mats) and undoes the layer in place:
    ``psi <- M^H psi``, ``g <- M^H g`` on every wire.  ``dL/dM = cross @ M``.
    The matrices must be unitary (``M^H`` is used as the inverse).

``permute(state, index, out=None, nthreads=None) -> out``
    ``out[b, k] = state[b, index[k]]``; ``index`` is an int64/int32 tensor of
    length ``2**n`` or a :class:`PermPlan`.  Index maps that are affine over GF(2)
    (``index[k] = c ^ A k``: any network of CNOT/SWAP/X, e.g. the CNOT chain) are
    detected once per index tensor (cached while the tensor lives and is not
    modified) and run as a streaming SIMD shuffle; other maps use a gather.

``layer_apply_permute(state, wires, mats, index, out=None, nthreads=None) -> out``
    Fused ``layer_apply_`` + ``permute`` (a forward block "layer, then CNOT network"):
    ``out = permute(layer(state), index)``; ``state`` is clobbered (scratch).

``permute_layer_adjoint(psi, g, index, wires, mats, psi_out=None, g_out=None, nthreads=None)``
    ``permute`` of psi and g + ``layer_adjoint_`` in one call (the backward step of
    such a block, with the inverse index); returns ``(cross, psi_out, g_out)``; psi
    and g are left unchanged.  (A fused single-sweep variant exists but measured
    slower here, so by default the permutation runs first; ``_set_tuning(fuse=3)``.)

``perm_plan(index) -> PermPlan``
    The (cached) analysis used by ``permute``; ``PermPlan.inverse()`` gives the
    plan of the inverse permutation.

``diag_apply_(state, d, nthreads=None) -> None``
    In place ``state *= d``; ``d`` of shape ``(2**n,)`` or ``(B, 2**n)``, same dtype
    as ``state`` (or the real dtype of a complex ``state``).

``prog_forward(state, ops, tables, nthreads=None) -> None``
    In place: run a *gate program* on every sample.  ``ops`` is an int32 tensor
    ``(nops, 4)`` of rows ``(table, wire0, wire1, row)``; ``tables`` is a sequence of 5
    tensors (or None) of the state's dtype: 0 shared 2x2 ``(R, 2, 2)``, 1 per-sample 2x2
    ``(B, R, 2, 2)``, 2 shared 4x4 ``(R, 4, 4)``, 3 per-sample 4x4 ``(B, R, 4, 4)``, 4
    constant 4x4 ``(R, 4, 4)``.  A 4x4 acts on ``(wire0, wire1)``, wire0 most significant.
    Meant for small states (the whole sample stays in cache for the whole program).

``prog_adjoint(psi, g, ops, tables, grads, nthreads=None) -> None``
    The adjoint walk of ``prog_forward``: ``psi`` (final state) and ``g`` (its gradient,
    torch convention) are undone gate by gate in place, and ``grads[t]`` (for tables 0-3,
    same shapes, or None when not wanted) receive ``dL/d table`` (shared ones summed over
    the batch, accumulated in float64).  Matrices must be unitary.

``info() -> dict``
    Build information (AVX-512 path or portable C, thread pool) and current tuning.

Implementation notes (see _qtnative.c): a layer is applied in cache-blocked passes
(contiguous tiles for the low qubits, copied strided tiles for the high ones); in a
tile, gates are register-blocked and written as ``pivot * (x_p + r * x_o)`` (one FMA
per output, |r| <= 2) with the pivots applied once per pass; the adjoint sums the
cross terms in SIMD lanes and folds them into float64.  Threads: a small pthread
pool (not OpenMP) whose helpers claim tasks dynamically; the calling thread only
waits for tasks a helper has actually started, so a busy machine degrades to
roughly single-threaded speed instead of stalling on barriers.
"""
from __future__ import annotations

import os
import weakref
from typing import Any, Optional, Sequence, Union

import torch

__all__ = [
    "AVAILABLE",
    "unavailable_reason",
    "layer_apply_",
    "layer_adjoint_",
    "permute",
    "layer_apply_permute",
    "permute_layer_adjoint",
    "perm_plan",
    "PermPlan",
    "diag_apply_",
    "prog_forward",
    "blocks_forward",
    "blocks_adjoint",
    "BLOCK_RECORD",
    "MAX_QUBITS",
    "prog_adjoint",
    "info",
]

AVAILABLE: bool = False
unavailable_reason: str = ""
_ext: Any = None

if os.environ.get("QTRAIN_DISABLE_NATIVE", "0") == "1":
    unavailable_reason = "disabled by QTRAIN_DISABLE_NATIVE=1"
else:
    try:
        from . import _qtnative as _ext  # type: ignore[attr-defined,no-redef]

        AVAILABLE = True
    except ImportError as _e:  # not built (no compiler at install time) or wrong CPU
        unavailable_reason = f"native extension not importable: {_e}"

_DT = {torch.float32: 0, torch.float64: 1, torch.complex64: 2, torch.complex128: 3}
_REAL_OF = {torch.complex64: torch.float32, torch.complex128: torch.float64}
_ESIZE = (4, 8, 8, 16)


def _need():
    if not AVAILABLE:
        raise RuntimeError(f"qtrain native kernels unavailable: {unavailable_reason}")


def _nth(nthreads: Optional[int]) -> int:
    return torch.get_num_threads() if nthreads is None else int(nthreads)


def _check_state(t, name: str, inplace: bool = True):
    """Validate a (B, 2**n) CPU contiguous state; return (B, n, dtype code)."""
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    code = _DT.get(t.dtype)
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


def _check_mats(mats, dtype, B: int, nw: int):
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
    return mats, per_sample  # only its data pointer is used: no autograd involvement


def _wires(wires) -> Sequence[int]:
    if isinstance(wires, torch.Tensor):
        return wires.tolist()
    if isinstance(wires, (list, tuple)):
        return wires
    try:
        return list(wires)
    except TypeError:
        raise ValueError("wires must be a sequence of ints") from None


def layer_apply_(state: torch.Tensor, wires, mats: torch.Tensor, nthreads: Optional[int] = None) -> None:
    """In place: apply mats[(b,) i] (2x2) to qubit wires[i] for all i (see module doc).

    Any 2x2 matrices work here (unitarity is only needed by :func:`layer_adjoint_`)."""
    _need()
    B, n, code = _check_state(state, "state")
    w = _wires(wires)
    m, ps = _check_mats(mats, state.dtype, B, len(w))
    if B == 0 or len(w) == 0:
        _ext.layer_apply(0, 0, n, code, w, 0, ps, 1)  # validates the wires only
        return
    _ext.layer_apply(state.data_ptr(), B, n, code, w, m.data_ptr(), ps, _nth(nthreads))


def layer_adjoint_(
    psi: torch.Tensor, g: torch.Tensor, wires, mats: torch.Tensor, nthreads: Optional[int] = None
) -> torch.Tensor:
    """Adjoint step of a layer: returns cross matrices and undoes the layer on psi and g in place."""
    _need()
    B, n, code = _check_state(psi, "psi")
    B2, n2, code2 = _check_state(g, "g")
    if (B2, n2, code2) != (B, n, code):
        raise ValueError(
            f"psi and g must have the same shape and dtype, got {tuple(psi.shape)}/{psi.dtype} "
            f"and {tuple(g.shape)}/{g.dtype}"
        )
    if _overlap(psi, g):
        raise ValueError("psi and g must not share memory")
    w = _wires(wires)
    nw = len(w)
    m, ps = _check_mats(mats, psi.dtype, B, nw)
    if B == 0 or nw == 0:
        _ext.layer_apply(0, 0, n, code, w, 0, ps, 1)  # validates the wires only
        return torch.zeros(((B, nw, 2, 2) if ps else (nw, 2, 2)), dtype=psi.dtype)
    cross = torch.empty(((B, nw, 2, 2) if ps else (nw, 2, 2)), dtype=psi.dtype)
    _ext.layer_adjoint(
        psi.data_ptr(), g.data_ptr(), B, n, code, w, m.data_ptr(), ps, cross.data_ptr(), _nth(nthreads)
    )
    return cross


class PermPlan:
    """Analysed gather map ``out[k] = in[index[k]]`` on ``n`` qubits.

    ``linear`` is True when ``index[k] == const ^ XOR_{j: bit j of k} cols[j]``
    (an affine map over GF(2)); then ``index`` may be None.
    """

    __slots__ = ("n", "linear", "const", "cols", "index", "__weakref__")

    def __init__(self, n: int, linear: bool, const: int, cols, index: Optional[torch.Tensor]):
        self.n = n
        self.linear = linear
        self.const = const
        self.cols = tuple(cols)
        self.index = index

    @property
    def size(self) -> int:
        return 1 << self.n

    def index_tensor(self) -> torch.Tensor:
        """The int64 index map as a tensor."""
        if self.index is not None:
            return self.index.to(torch.int64)
        k = torch.arange(self.size, dtype=torch.int64)
        out = torch.full((self.size,), self.const, dtype=torch.int64)
        for j, c in enumerate(self.cols):
            out ^= ((k >> j) & 1) * c
        return out

    def inverse(self) -> "PermPlan":
        """Plan of the inverse permutation (requires a bijective map)."""
        if self.linear:
            inv = _gf2_inverse(list(self.cols), self.n)
            if inv is None:
                raise ValueError("permutation is not invertible")
            # out = in[c ^ A k]  =>  inverse: in = out[A^-1 (k ^ c)] = out[A^-1 c ^ A^-1 k]
            c = 0
            for j in range(self.n):
                if (self.const >> j) & 1:
                    c ^= inv[j]
            return PermPlan(self.n, True, c, inv, None)
        idx = self.index.to(torch.int64)
        inv = torch.empty_like(idx)
        inv[idx] = torch.arange(idx.numel(), dtype=torch.int64)
        if not torch.equal(inv[idx], torch.arange(idx.numel(), dtype=torch.int64)):
            raise ValueError("permutation is not invertible")
        return perm_plan(inv)

    def __repr__(self) -> str:
        kind = "linear" if self.linear else "gather"
        return f"PermPlan(n={self.n}, {kind})"


def _gf2_inverse(cols, n):
    """Inverse of the GF(2) matrix whose column j is the bit mask cols[j]; None if singular."""
    # rows of [A | I] with A[i, j] = bit i of cols[j]
    rows = []
    for i in range(n):
        a = 0
        for j in range(n):
            if (cols[j] >> i) & 1:
                a |= 1 << j
        rows.append((a, 1 << i))
    for col in range(n):
        piv = next((r for r in range(col, n) if (rows[r][0] >> col) & 1), None)
        if piv is None:
            return None
        rows[col], rows[piv] = rows[piv], rows[col]
        for r in range(n):
            if r != col and (rows[r][0] >> col) & 1:
                rows[r] = (rows[r][0] ^ rows[col][0], rows[r][1] ^ rows[col][1])
    # rows[i][1] is row i of A^-1; convert to columns
    inv_cols = []
    for j in range(n):
        c = 0
        for i in range(n):
            if (rows[i][1] >> j) & 1:
                c |= 1 << i
        inv_cols.append(c)
    return inv_cols


_PLAN_CACHE: dict = {}
_PLAN_CACHE_MAX = 256


def perm_plan(index: Union[torch.Tensor, PermPlan]) -> PermPlan:
    """Analyse (and cache) an index map; see :class:`PermPlan`."""
    if isinstance(index, PermPlan):
        return index
    if not isinstance(index, torch.Tensor):
        raise ValueError(f"index must be a torch.Tensor or PermPlan, got {type(index).__name__}")
    if index.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"index must be int64 or int32, got {index.dtype}")
    if index.device.type != "cpu":
        raise ValueError(f"index must be on CPU, got {index.device}")
    if index.dim() != 1:
        raise ValueError(f"index must be 1-D, got shape {tuple(index.shape)}")
    N = index.shape[0]
    n = N.bit_length() - 1
    if N < 1 or (1 << n) != N:
        raise ValueError(f"index length must be a power of two, got {N}")
    key = id(index)
    ent = _PLAN_CACHE.get(key)
    ver = index._version
    ptr = index.data_ptr()
    if ent is not None:
        ref, v, p, st, plan = ent
        if ref() is index and v == ver and p == ptr and st == index.stride():
            return plan
        del _PLAN_CACHE[key]
    _need()
    idx = index if index.is_contiguous() else index.contiguous()
    linear, const, cols = _ext.perm_analyze(idx.data_ptr(), int(idx.dtype == torch.int64), n)
    plan = PermPlan(n, bool(linear), int(const), cols, None if linear else idx)
    if len(_PLAN_CACHE) >= _PLAN_CACHE_MAX:
        _PLAN_CACHE.pop(next(iter(_PLAN_CACHE)))
    try:
        _PLAN_CACHE[key] = (weakref.ref(index), ver, ptr, index.stride(), plan)
    except TypeError:  # pragma: no cover - tensors are weak-referenceable
        pass
    return plan


def permute(
    state: torch.Tensor,
    index: Union[torch.Tensor, PermPlan],
    out: Optional[torch.Tensor] = None,
    nthreads: Optional[int] = None,
) -> torch.Tensor:
    """``out[b, k] = state[b, index[k]]`` (new tensor unless ``out`` is given)."""
    _need()
    B, n, code = _check_state(state, "state", inplace=False)
    plan = perm_plan(index)
    if plan.n != n:
        raise ValueError(f"index is for {plan.n} qubits but state has {n}")
    if state.is_conj() or state.is_neg():
        state = state.resolve_conj().resolve_neg()
    if out is None:
        out = torch.empty_like(state, memory_format=torch.contiguous_format)
    else:
        _check_state(out, "out")
        if out.shape != state.shape or out.dtype != state.dtype:
            raise ValueError(
                f"out must match state (shape {tuple(state.shape)}, {state.dtype}), "
                f"got {tuple(out.shape)}, {out.dtype}"
            )
        nb = state.numel() * state.element_size()
        a, b = state.data_ptr(), out.data_ptr()
        if nb and a < b + nb and b < a + nb:
            raise ValueError("out must not overlap state")
    es = _ESIZE[code]
    if plan.linear:
        _ext.perm_linear(state.data_ptr(), out.data_ptr(), B, n, es, plan.const, plan.cols, _nth(nthreads))
    else:
        idx = plan.index
        _ext.perm_index(
            state.data_ptr(), out.data_ptr(), B, n, es, idx.data_ptr(), int(idx.dtype == torch.int64),
            _nth(nthreads),
        )
    return out


def _out_like(out, ref, name):
    if out is None:
        return torch.empty_like(ref, memory_format=torch.contiguous_format)
    _check_state(out, name)
    if out.shape != ref.shape or out.dtype != ref.dtype:
        raise ValueError(
            f"{name} must match (shape {tuple(ref.shape)}, {ref.dtype}), got {tuple(out.shape)}, {out.dtype}"
        )
    return out


def _span(t: torch.Tensor):
    p = t.data_ptr()
    return p, p + t.numel() * t.element_size()


def _overlap(a: torch.Tensor, b: torch.Tensor) -> bool:
    (a0, a1), (b0, b1) = _span(a), _span(b)
    return a0 < a1 and b0 < b1 and a0 < b1 and b0 < a1


def _any_overlap(*ts: torch.Tensor) -> bool:
    sp = sorted(s for s in map(_span, ts) if s[0] < s[1])
    return any(sp[i + 1][0] < sp[i][1] for i in range(len(sp) - 1))


def layer_apply_permute(
    state: torch.Tensor,
    wires,
    mats: torch.Tensor,
    index: Union[torch.Tensor, PermPlan],
    out: Optional[torch.Tensor] = None,
    nthreads: Optional[int] = None,
) -> torch.Tensor:
    """Fused ``layer_apply_(state, wires, mats)`` followed by ``permute(state, index, out)``.

    Returns ``out`` (allocated if not given).  ``state`` is used as scratch: its content
    afterwards is unspecified.  Linear index maps are fused into the last blocking pass
    (one fewer sweep over the state); other maps run the two steps one after the other.
    """
    _need()
    B, n, code = _check_state(state, "state")
    w = _wires(wires)
    m, ps = _check_mats(mats, state.dtype, B, len(w))
    plan = perm_plan(index)
    if plan.n != n:
        raise ValueError(f"index is for {plan.n} qubits but state has {n}")
    out = _out_like(out, state, "out")
    if _overlap(out, state):
        raise ValueError("out must not overlap state")
    if B == 0:
        _ext.layer_apply(0, 0, n, code, w, 0, ps, 1)  # validates the wires only
        return out
    if not plan.linear:
        layer_apply_(state, w, m, nthreads)
        return permute(state, plan, out=out, nthreads=nthreads)
    _ext.layer_apply_perm(
        state.data_ptr(), out.data_ptr(), B, n, code, w, m.data_ptr(), ps, plan.const, plan.cols,
        _nth(nthreads),
    )
    return out


def permute_layer_adjoint(
    psi: torch.Tensor,
    g: torch.Tensor,
    index: Union[torch.Tensor, PermPlan],
    wires,
    mats: torch.Tensor,
    psi_out: Optional[torch.Tensor] = None,
    g_out: Optional[torch.Tensor] = None,
    nthreads: Optional[int] = None,
):
    """Fused ``permute`` of psi and g followed by ``layer_adjoint_``.

    ``psi_out = permute(psi, index)`` and ``g_out = permute(g, index)``, then the layer is
    undone on them in place; returns ``(cross, psi_out, g_out)`` with ``cross`` as in
    :func:`layer_adjoint_` (taken after the permutation, before undoing the layer).
    ``psi`` and ``g`` are not modified.  Typical use in the backward pass of a block
    "layer then permutation P": pass the index of P's inverse.
    """
    _need()
    B, n, code = _check_state(psi, "psi", inplace=False)
    if _check_state(g, "g", inplace=False) != (B, n, code):
        raise ValueError(
            f"psi and g must have the same shape and dtype, got {tuple(psi.shape)}/{psi.dtype} "
            f"and {tuple(g.shape)}/{g.dtype}"
        )
    if psi.is_conj() or psi.is_neg() or g.is_conj() or g.is_neg():
        psi, g = psi.resolve_conj().resolve_neg(), g.resolve_conj().resolve_neg()
    w = _wires(wires)
    nw = len(w)
    m, ps = _check_mats(mats, psi.dtype, B, nw)
    plan = perm_plan(index)
    if plan.n != n:
        raise ValueError(f"index is for {plan.n} qubits but state has {n}")
    psi_out = _out_like(psi_out, psi, "psi_out")
    g_out = _out_like(g_out, g, "g_out")
    if _any_overlap(psi_out, g_out, psi) or _any_overlap(psi_out, g_out, g):
        raise ValueError("psi_out and g_out must not overlap each other, psi or g")
    if B == 0 or nw == 0 or not plan.linear:
        permute(psi, plan, out=psi_out, nthreads=nthreads)
        permute(g, plan, out=g_out, nthreads=nthreads)
        return layer_adjoint_(psi_out, g_out, w, m, nthreads), psi_out, g_out
    cross = torch.empty(((B, nw, 2, 2) if ps else (nw, 2, 2)), dtype=psi.dtype)
    _ext.layer_adjoint_perm(
        psi.data_ptr(), g.data_ptr(), psi_out.data_ptr(), g_out.data_ptr(), B, n, code, w,
        m.data_ptr(), ps, cross.data_ptr(), plan.const, plan.cols, _nth(nthreads),
    )
    return cross, psi_out, g_out


def diag_apply_(state: torch.Tensor, d: torch.Tensor, nthreads: Optional[int] = None) -> None:
    """In place ``state *= d`` with d of shape (2**n,) or (B, 2**n)."""
    _need()
    B, n, code = _check_state(state, "state")
    if not isinstance(d, torch.Tensor):
        raise ValueError(f"d must be a torch.Tensor, got {type(d).__name__}")
    if d.device.type != "cpu":
        raise ValueError(f"d must be on CPU, got {d.device}")
    if d.dtype == state.dtype:
        kind = 0
    elif _REAL_OF.get(state.dtype) == d.dtype:
        kind = 1
    else:
        raise ValueError(f"d dtype {d.dtype} incompatible with state dtype {state.dtype}")
    N = 1 << n
    if tuple(d.shape) == (N,):
        dps = 0
    elif tuple(d.shape) == (B, N):
        dps = 1
    else:
        raise ValueError(f"d must have shape ({N},) or ({B}, {N}), got {tuple(d.shape)}")
    d = d.detach()
    if d.is_conj() or d.is_neg():
        d = d.resolve_conj().resolve_neg()
    if not d.is_contiguous():
        d = d.contiguous()
    _ext.diag_apply(state.data_ptr(), B, n, code, d.data_ptr(), kind, dps, _nth(nthreads))


_GP_DIMS = (2, 2, 4, 4, 4)
_GP_PS = (False, True, False, True, False)


def _gp_tables(tables, dtype, B: int):
    """Pointers and row counts of the 5 program tables (validated: dtype, shape, CPU)."""
    if len(tables) != 5:
        raise ValueError(f"tables must have 5 entries (sh1, ps1, sh2, ps2, const2), got {len(tables)}")
    ptrs, rows, keep = [], [], []
    for t, tab in enumerate(tables):
        if tab is None or tab.numel() == 0:  # an empty table: no op may reference it
            ptrs.append(0)
            rows.append(0)
            continue
        d = _GP_DIMS[t]
        if tab.dtype != dtype or not tab.is_cpu:
            raise ValueError(f"tables[{t}] must be a CPU {dtype} tensor, got {tab.dtype} on {tab.device}")
        want = (B, tab.shape[1] if tab.dim() == 4 else -1, d, d) if _GP_PS[t] else (tab.shape[0], d, d)
        if tuple(tab.shape) != want:
            raise ValueError(f"tables[{t}] has shape {tuple(tab.shape)}, expected {want}")
        if (dtype.is_complex and tab.is_conj()) or tab.is_neg() or not tab.is_contiguous():
            tab = tab.detach().resolve_conj().resolve_neg().contiguous()
        keep.append(tab)
        ptrs.append(tab.data_ptr())
        rows.append(tab.shape[1] if _GP_PS[t] else tab.shape[0])
    return ptrs, rows, keep


def _gp_ops(ops):
    if not isinstance(ops, torch.Tensor) or ops.dtype != torch.int32 or ops.dim() != 2 or ops.shape[1] != 4:
        raise ValueError("ops must be an int32 tensor of shape (nops, 4)")
    return ops.contiguous()


def prog_forward(state: torch.Tensor, ops: torch.Tensor, tables, nthreads: Optional[int] = None) -> None:
    """In place: run the gate program on every sample (see module doc)."""
    _need()
    B, n, code = _check_state(state, "state")
    ops = _gp_ops(ops)
    ptrs, rows, _keep = _gp_tables(tables, state.dtype, B)
    _ext.prog_forward(state.data_ptr(), B, n, code, ops.data_ptr(), ops.shape[0], *ptrs, *rows, _nth(nthreads))


def prog_adjoint(psi: torch.Tensor, g: torch.Tensor, ops: torch.Tensor, tables, grads,
                 nthreads: Optional[int] = None) -> None:
    """In place adjoint walk; fills ``grads`` (see module doc)."""
    _need()
    B, n, code = _check_state(psi, "psi")
    if g.shape != psi.shape or g.dtype != psi.dtype:
        raise ValueError(f"g must match psi: {tuple(psi.shape)} {psi.dtype}, got {tuple(g.shape)} {g.dtype}")
    _check_state(g, "g")
    ops = _gp_ops(ops)
    ptrs, rows, _keep = _gp_tables(tables, psi.dtype, B)
    if len(grads) != 4:
        raise ValueError(f"grads must have 4 entries (sh1, ps1, sh2, ps2), got {len(grads)}")
    gptr = []
    for t, gr in enumerate(grads):
        if gr is None or gr.numel() == 0:
            gptr.append(0)
            continue
        if tables[t] is None or gr.shape != tables[t].shape or gr.dtype != psi.dtype or not gr.is_contiguous():
            raise ValueError(f"grads[{t}] must be a contiguous tensor shaped like tables[{t}]")
        gptr.append(gr.data_ptr())
    _ext.prog_adjoint(psi.data_ptr(), g.data_ptr(), B, n, code, ops.data_ptr(), ops.shape[0], *ptrs, *rows,
                      *gptr, _nth(nthreads))


MAX_QUBITS = 48  # QT_MAXQ of the extension
BLOCK_RECORD = 4 + 2 * MAX_QUBITS  # int64 values per block record (QT_BLK_REC)


def _blocks_args(state, desc, mats):
    B, n, code = _check_state(state, "state")
    if not isinstance(desc, torch.Tensor) or desc.dtype != torch.int64 or desc.dim() != 2 or \
            desc.shape[1] != BLOCK_RECORD or not desc.is_contiguous():
        raise ValueError(f"desc must be a contiguous int64 tensor of shape (nblocks, {BLOCK_RECORD})")
    if mats.dtype != state.dtype or mats.dim() != 3 or mats.shape[1:] != (2, 2) or not mats.is_contiguous():
        raise ValueError(f"mats must be a contiguous (total_nw, 2, 2) tensor of dtype {state.dtype}")
    if (state.dtype.is_complex and mats.is_conj()) or mats.is_neg():
        raise ValueError("mats has a lazy conj/neg bit; call resolve_conj()/resolve_neg() first")
    return B, n, code


def blocks_forward(state: torch.Tensor, spare: torch.Tensor, desc: torch.Tensor, mats: torch.Tensor,
                   nthreads: Optional[int] = None) -> int:
    """Run a block program (layers of ``mats`` rows, linear permutations); returns 0 when the
    result is in ``state``, 1 when it is in ``spare`` (the other buffer is scratch)."""
    _need()
    B, n, code = _blocks_args(state, desc, mats)
    if spare.shape != state.shape or spare.dtype != state.dtype or not spare.is_contiguous() or _overlap(spare, state):
        raise ValueError("spare must be a separate contiguous tensor like state")
    return _ext.blocks_forward(state.data_ptr(), spare.data_ptr(), B, n, code, desc.shape[0], desc.data_ptr(),
                               mats.data_ptr(), mats.shape[0], _nth(nthreads))


def blocks_adjoint(psi: torch.Tensor, g: torch.Tensor, psi_spare: torch.Tensor, g_spare: torch.Tensor,
                   desc: torch.Tensor, mats: torch.Tensor, cross: torch.Tensor,
                   nthreads: Optional[int] = None) -> int:
    """Adjoint walk of a block program (``desc`` with the inverse permutations); ``cross`` gets
    each layer's cross matrix (``dL/dmats = cross @ mats``); returns which pair (0: psi/g,
    1: the spares) holds the state and gradient before the first block."""
    _need()
    B, n, code = _blocks_args(psi, desc, mats)
    for name, t in (("g", g), ("psi_spare", psi_spare), ("g_spare", g_spare)):
        if t.shape != psi.shape or t.dtype != psi.dtype or not t.is_contiguous():
            raise ValueError(f"{name} must be a contiguous tensor like psi")
    if _any_overlap(psi, g, psi_spare, g_spare):
        raise ValueError("psi, g, psi_spare and g_spare must not overlap")
    if cross.shape != mats.shape or cross.dtype != mats.dtype or not cross.is_contiguous():
        raise ValueError("cross must be a contiguous tensor like mats")
    return _ext.blocks_adjoint(psi.data_ptr(), g.data_ptr(), psi_spare.data_ptr(), g_spare.data_ptr(), B, n, code,
                               desc.shape[0], desc.data_ptr(), mats.data_ptr(), mats.shape[0], cross.data_ptr(),
                               _nth(nthreads))


def info() -> dict:
    """Build information and current tuning parameters."""
    if not AVAILABLE:
        return {"available": False, "reason": unavailable_reason}
    d = dict(_ext.build_info())
    t = _ext.set_tuning()
    d.update(
        available=True,
        tile_bytes_apply=t[0],
        tile_bytes_adj=t[1],
        row_bytes=t[2],
        group_apply=t[3],
        group_adjoint=t[4],
        min_parallel_bytes=t[5],
        factored=bool(t[6]),
        fuse=t[7],
        backoff_jobs=t[8],
    )
    return d


def _set_tuning(
    tile_bytes_apply: int = -1,
    tile_bytes_adj: int = -1,
    row_bytes: int = -1,
    group_apply: int = -1,
    group_adjoint: int = -1,
    min_parallel_bytes: int = -1,
    factored: int = -1,
    fuse: int = -1,
    backoff_jobs: int = -1,
):
    """Experimental knobs (benchmarks, tests); -1 keeps the current value.  Returns the settings
    as a tuple in argument order, which can be passed back to restore them."""
    _need()
    return _ext.set_tuning(
        tile_bytes_apply, tile_bytes_adj, row_bytes, group_apply, group_adjoint, min_parallel_bytes,
        factored, fuse, backoff_jobs,
    )
