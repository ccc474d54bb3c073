"""Layers of single-qubit gates: one 2x2 matrix per wire, applied to a batch of states.

States are CPU, C-contiguous ``(B, 2**n)`` tensors (batch first) of dtype float32, float64,
complex64 or complex128; qubit ``q`` is bit ``n-1-q`` of the basis index (qubit 0 = most
significant bit). Matrices are shared ``(nw, 2, 2)`` or per sample ``(B, nw, 2, 2)``, of the
state's dtype.
"""
from __future__ import annotations

import torch

from ._checks import Wires, any_overlap, as_wires, check_mats, check_state, out_like, overlap
from ._lib import need, nthreads_or_default
from .perm import PermPlan, perm_plan, permute

__all__ = ["layer_adjoint_", "layer_apply_", "layer_apply_permute", "permute_layer_adjoint"]


def layer_apply_(state: torch.Tensor, wires: Wires, mats: torch.Tensor, nthreads: int | None = None) -> None:
    """In place: apply ``mats[(b,) i]`` (2x2) to qubit ``wires[i]`` for every ``i`` and sample.

    Any 2x2 matrices work here (unitarity is only needed by :func:`layer_adjoint_`).

    Args:
        state: ``(B, 2**n)`` state, changed in place.
        wires: distinct qubits, length ``nw``.
        mats: ``(nw, 2, 2)`` shared or ``(B, nw, 2, 2)`` per-sample matrices.
        nthreads: threads to use (default ``torch.get_num_threads()``).

    Example:
        >>> x = torch.tensor([[1.0, 0.0]])
        >>> layer_apply_(x, [0], torch.tensor([[[0.0, 1.0], [1.0, 0.0]]]))  # X
        >>> x.tolist()
        [[0.0, 1.0]]
    """
    ext = need()
    B, n, code = check_state(state, "state")
    w = as_wires(wires)
    m, ps = check_mats(mats, state.dtype, B, len(w))
    if B == 0 or len(w) == 0:
        ext.layer_apply(0, 0, n, code, w, 0, ps, 1)  # validates the wires only
        return
    ext.layer_apply(state.data_ptr(), B, n, code, w, m.data_ptr(), ps, nthreads_or_default(nthreads))


def _cross_shape(B: int, nw: int, per_sample: int) -> tuple[int, ...]:
    return (B, nw, 2, 2) if per_sample else (nw, 2, 2)


def layer_adjoint_(
    psi: torch.Tensor, g: torch.Tensor, wires: Wires, mats: torch.Tensor, nthreads: int | None = None
) -> torch.Tensor:
    """Adjoint step of a layer: returns the cross matrices and undoes the layer on psi and g.

    Args:
        psi: ``(B, 2**n)`` state right after the layer; becomes ``M^H psi`` in place.
        g: gradient w.r.t. ``psi`` (torch convention, ``dL/d conj(psi)`` for complex), same
            shape and dtype, not sharing memory with ``psi``; becomes ``M^H g`` in place.
        wires: distinct qubits, length ``nw``.
        mats: ``(nw, 2, 2)`` or ``(B, nw, 2, 2)`` unitary matrices (``M^H`` is the inverse).
        nthreads: threads to use (default ``torch.get_num_threads()``).

    Returns:
        ``cross`` ``(nw, 2, 2)`` or ``(B, nw, 2, 2)``:
        ``cross[(b,) i, r, c] = sum_{k: bit_w(k)=r} g[k] * conj(psi[k with bit_w=c])`` (summed
        over the batch for shared mats); ``dL/dM = cross @ M``.
    """
    ext = need()
    B, n, code = check_state(psi, "psi")
    B2, n2, code2 = check_state(g, "g")
    if (B2, n2, code2) != (B, n, code):
        raise ValueError(
            f"psi and g must have the same shape and dtype, got {tuple(psi.shape)}/{psi.dtype} "
            f"and {tuple(g.shape)}/{g.dtype}"
        )
    if overlap(psi, g):
        raise ValueError("psi and g must not share memory")
    w = as_wires(wires)
    nw = len(w)
    m, ps = check_mats(mats, psi.dtype, B, nw)
    if B == 0 or nw == 0:
        ext.layer_apply(0, 0, n, code, w, 0, ps, 1)  # validates the wires only
        return torch.zeros(_cross_shape(B, nw, ps), dtype=psi.dtype)
    cross = torch.empty(_cross_shape(B, nw, ps), dtype=psi.dtype)
    ext.layer_adjoint(
        psi.data_ptr(), g.data_ptr(), B, n, code, w, m.data_ptr(), ps, cross.data_ptr(), nthreads_or_default(nthreads)
    )
    return cross


def layer_apply_permute(
    state: torch.Tensor,
    wires: Wires,
    mats: torch.Tensor,
    index: torch.Tensor | PermPlan,
    out: torch.Tensor | None = None,
    nthreads: int | None = None,
) -> torch.Tensor:
    """Fused ``layer_apply_(state, wires, mats)`` then ``permute(state, index, out)``.

    A forward block "layer, then CNOT network". Linear index maps are fused into the last
    blocking pass (one sweep over the state fewer); other maps run the two steps one after the
    other.

    Args:
        state: ``(B, 2**n)`` state, used as scratch (its content afterwards is unspecified).
        wires, mats: the layer, as in :func:`layer_apply_`.
        index: int64/int32 ``(2**n,)`` gather index or a :class:`PermPlan`.
        out: optional ``(B, 2**n)`` output, not overlapping ``state``.
        nthreads: threads to use (default ``torch.get_num_threads()``).

    Returns:
        ``out = permute(layer(state), index)``, shape ``(B, 2**n)``.
    """
    ext = need()
    B, n, code = check_state(state, "state")
    w = as_wires(wires)
    m, ps = check_mats(mats, state.dtype, B, len(w))
    plan = perm_plan(index)
    if plan.n != n:
        raise ValueError(f"index is for {plan.n} qubits but state has {n}")
    out = out_like(out, state, "out")
    if overlap(out, state):
        raise ValueError("out must not overlap state")
    if B == 0:
        ext.layer_apply(0, 0, n, code, w, 0, ps, 1)  # validates the wires only
        return out
    if not plan.linear:
        layer_apply_(state, w, m, nthreads)
        return permute(state, plan, out=out, nthreads=nthreads)
    ext.layer_apply_perm(
        state.data_ptr(), out.data_ptr(), B, n, code, w, m.data_ptr(), ps, plan.const, plan.cols,
        nthreads_or_default(nthreads),
    )
    return out


def permute_layer_adjoint(
    psi: torch.Tensor,
    g: torch.Tensor,
    index: torch.Tensor | PermPlan,
    wires: Wires,
    mats: torch.Tensor,
    psi_out: torch.Tensor | None = None,
    g_out: torch.Tensor | None = None,
    nthreads: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fused ``permute`` of psi and g, then ``layer_adjoint_`` on the permuted pair.

    The backward step of a block "layer then permutation P": pass the index of P's inverse.
    ``psi`` and ``g`` are not modified. (A fused single-sweep variant exists but measured slower
    here, so by default the permutation runs first; ``_set_tuning(fuse=3)`` turns it on.)

    Args:
        psi, g: ``(B, 2**n)`` state after the block and its gradient.
        index: int64/int32 ``(2**n,)`` gather index or a :class:`PermPlan`.
        wires, mats: the layer, as in :func:`layer_adjoint_`.
        psi_out, g_out: optional outputs like ``psi``, not overlapping each other, psi or g.
        nthreads: threads to use (default ``torch.get_num_threads()``).

    Returns:
        ``(cross, psi_out, g_out)``: ``cross`` as in :func:`layer_adjoint_` (taken after the
        permutation, before undoing the layer), ``psi_out = M^H permute(psi, index)`` and the
        same for ``g``.
    """
    ext = need()
    B, n, code = check_state(psi, "psi", inplace=False)
    if check_state(g, "g", inplace=False) != (B, n, code):
        raise ValueError(
            f"psi and g must have the same shape and dtype, got {tuple(psi.shape)}/{psi.dtype} "
            f"and {tuple(g.shape)}/{g.dtype}"
        )
    if psi.is_conj() or psi.is_neg() or g.is_conj() or g.is_neg():
        psi, g = psi.resolve_conj().resolve_neg(), g.resolve_conj().resolve_neg()
    w = as_wires(wires)
    nw = len(w)
    m, ps = check_mats(mats, psi.dtype, B, nw)
    plan = perm_plan(index)
    if plan.n != n:
        raise ValueError(f"index is for {plan.n} qubits but state has {n}")
    psi_out = out_like(psi_out, psi, "psi_out")
    g_out = out_like(g_out, g, "g_out")
    if any_overlap(psi_out, g_out, psi) or any_overlap(psi_out, g_out, g):
        raise ValueError("psi_out and g_out must not overlap each other, psi or g")
    if B == 0 or nw == 0 or not plan.linear:
        permute(psi, plan, out=psi_out, nthreads=nthreads)
        permute(g, plan, out=g_out, nthreads=nthreads)
        return layer_adjoint_(psi_out, g_out, w, m, nthreads), psi_out, g_out
    cross = torch.empty(_cross_shape(B, nw, ps), dtype=psi.dtype)
    ext.layer_adjoint_perm(
        psi.data_ptr(), g.data_ptr(), psi_out.data_ptr(), g_out.data_ptr(), B, n, code, w,
        m.data_ptr(), ps, cross.data_ptr(), plan.const, plan.cols, nthreads_or_default(nthreads),
    )
    return cross, psi_out, g_out
