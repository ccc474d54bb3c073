"""Permutations of the basis index: ``out[b, k] = state[b, index[k]]``.

Index maps that are affine over GF(2) (``index[k] = c ^ A k``: any network of CNOT, SWAP and X
gates, e.g. the CNOT chain) are detected once per index tensor and run as a streaming SIMD
lane shuffle; other maps use a gather.
"""
from __future__ import annotations

import weakref
from collections.abc import Sequence

import torch

from ._checks import ESIZE, check_state, overlap
from ._lib import need, nthreads_or_default

__all__ = ["PermPlan", "perm_plan", "permute"]


class PermPlan:
    """Analysed gather map ``out[k] = in[index[k]]`` on ``n`` qubits.

    ``linear`` is True when ``index[k] == const ^ XOR_{j: bit j of k} cols[j]`` (an affine map
    over GF(2)); then ``index`` may be None.

    Args:
        n: number of qubits (the map has ``2**n`` entries).
        linear: whether the map is affine over GF(2).
        const: the constant ``index[0]`` of an affine map.
        cols: ``cols[j] = index[2**j] ^ const`` of an affine map (empty otherwise).
        index: the int64/int32 index tensor ``(2**n,)``, needed when not ``linear``.
    """

    __slots__ = ("__weakref__", "cols", "const", "index", "linear", "n")

    def __init__(self, n: int, linear: bool, const: int, cols: Sequence[int], index: torch.Tensor | None) -> None:
        self.n = n
        self.linear = linear
        self.const = const
        self.cols = tuple(cols)
        self.index = index

    @property
    def size(self) -> int:
        return 1 << self.n

    def index_tensor(self) -> torch.Tensor:
        """The int64 index map as a tensor ``(2**n,)``."""
        if self.index is not None:
            return self.index.to(torch.int64)
        k = torch.arange(self.size, dtype=torch.int64)
        out = torch.full((self.size,), self.const, dtype=torch.int64)
        for j, c in enumerate(self.cols):
            out ^= ((k >> j) & 1) * c
        return out

    def inverse(self) -> PermPlan:
        """Plan of the inverse permutation; ``ValueError`` when the map is not a bijection.

        Example:
            >>> k = torch.arange(8)
            >>> p = perm_plan(k ^ (k >> 1))  # the CNOT chain on 3 qubits
            >>> torch.equal(p.inverse().index_tensor()[p.index_tensor()], k)
            True
        """
        if self.linear:
            # out = in[c ^ A k]  =>  in = out[A^-1 c ^ A^-1 k], computed by the extension
            inv = need().perm_inverse(self.n, self.const, self.cols)
            if inv is None:
                raise ValueError("permutation is not invertible")
            return PermPlan(self.n, True, inv[0], inv[1], None)
        idx = self.index.to(torch.int64)
        inv_idx = torch.empty_like(idx)
        inv_idx[idx] = torch.arange(idx.numel(), dtype=torch.int64)
        if not torch.equal(inv_idx[idx], torch.arange(idx.numel(), dtype=torch.int64)):
            raise ValueError("permutation is not invertible")
        return perm_plan(inv_idx)

    def __repr__(self) -> str:
        kind = "linear" if self.linear else "gather"
        return f"PermPlan(n={self.n}, {kind})"


_PLAN_CACHE: dict = {}
_PLAN_CACHE_MAX = 256


def _check_index(index: torch.Tensor) -> int:
    """Validate an index tensor; return its number of qubits."""
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
    return n


def perm_plan(index: torch.Tensor | PermPlan) -> PermPlan:
    """Analyse (and cache) an index map ``(2**n,)``; see :class:`PermPlan`.

    The analysis is cached while the tensor lives and is not modified in place. Raises
    ``ValueError`` for a bad tensor or an index value outside ``[0, 2**n)``.
    """
    if isinstance(index, PermPlan):
        return index
    if not isinstance(index, torch.Tensor):
        raise ValueError(f"index must be a torch.Tensor or PermPlan, got {type(index).__name__}")
    n = _check_index(index)
    key = id(index)
    ent = _PLAN_CACHE.get(key)
    ver = index._version
    ptr = index.data_ptr()
    if ent is not None:
        ref, v, p, st, plan = ent
        if ref() is index and v == ver and p == ptr and st == index.stride():
            return plan
        del _PLAN_CACHE[key]
    ext = need()
    idx = index if index.is_contiguous() else index.contiguous()
    linear, const, cols = ext.perm_analyze(idx.data_ptr(), int(idx.dtype == torch.int64), n)
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
    index: torch.Tensor | PermPlan,
    out: torch.Tensor | None = None,
    nthreads: int | None = None,
) -> torch.Tensor:
    """``out[b, k] = state[b, index[k]]`` (new tensor unless ``out`` is given).

    Args:
        state: ``(B, 2**n)`` CPU contiguous state (float32/64, complex64/128).
        index: int64/int32 tensor ``(2**n,)`` or a :class:`PermPlan`.
        out: optional ``(B, 2**n)`` output like ``state``, not overlapping it.
        nthreads: threads to use (default ``torch.get_num_threads()``).

    Returns:
        ``out``, shape ``(B, 2**n)``.

    Example:
        >>> x = torch.arange(8.0).reshape(1, 8)
        >>> permute(x, torch.arange(8).flip(0)).tolist()
        [[7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0]]
    """
    ext = need()
    B, n, code = check_state(state, "state", inplace=False)
    plan = perm_plan(index)
    if plan.n != n:
        raise ValueError(f"index is for {plan.n} qubits but state has {n}")
    if state.is_conj() or state.is_neg():
        state = state.resolve_conj().resolve_neg()
    if out is None:
        out = torch.empty_like(state, memory_format=torch.contiguous_format)
    else:
        check_state(out, "out")
        if out.shape != state.shape or out.dtype != state.dtype:
            raise ValueError(
                f"out must match state (shape {tuple(state.shape)}, {state.dtype}), "
                f"got {tuple(out.shape)}, {out.dtype}"
            )
        if overlap(state, out):
            raise ValueError("out must not overlap state")
    es, nth = ESIZE[code], nthreads_or_default(nthreads)
    if plan.linear:
        ext.perm_linear(state.data_ptr(), out.data_ptr(), B, n, es, plan.const, plan.cols, nth)
    else:
        idx = plan.index
        ext.perm_index(state.data_ptr(), out.data_ptr(), B, n, es, idx.data_ptr(), int(idx.dtype == torch.int64), nth)
    return out
