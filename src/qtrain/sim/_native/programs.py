"""Whole circuits in one native call: gate programs and block programs.

*Gate programs* (:func:`prog_forward`, :func:`prog_adjoint`) run a list of 1- and 2-qubit
matrices gate by gate on each sample's (small, cache-resident) state. ``ops`` is an int32 tensor
``(nops, 4)`` of rows ``(table, wire0, wire1, row)``; ``tables`` is a sequence of 5 tensors (or
None) of the state's dtype: 0 shared 2x2 ``(R, 2, 2)``, 1 per-sample 2x2 ``(B, R, 2, 2)``, 2
shared 4x4 ``(R, 4, 4)``, 3 per-sample 4x4 ``(B, R, 4, 4)``, 4 constant 4x4 ``(R, 4, 4)``. A 4x4
acts on ``(wire0, wire1)``, wire0 most significant; ``table | 8`` marks a controlled 4x4
``diag(I, U)`` (control = wire0).

*Block programs* (:func:`blocks_forward`, :func:`blocks_adjoint`) run shared single-qubit layers
and linear permutations described by int64 records of ``BLOCK_RECORD`` values per block:
``[0]`` kind (1 layer, 2 permutation, 3 layer then permutation), ``[1]`` nw, ``[2]`` first row of
the block in the packed ``(total_nw, 2, 2)`` mats, ``[3]`` permutation constant, then
``MAX_QUBITS`` wire slots and ``MAX_QUBITS`` permutation columns.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from ._checks import any_overlap, check_state, overlap
from ._lib import need, nthreads_or_default

__all__ = ["BLOCK_RECORD", "MAX_QUBITS", "blocks_adjoint", "blocks_forward", "prog_adjoint", "prog_forward"]

MAX_QUBITS = 48  # QT_MAXQ in qt_common.h (tests check that the extension agrees)
BLOCK_RECORD = 4 + 2 * MAX_QUBITS  # int64 values per block record (QT_BLK_REC in qt_blocks.h)

_GP_DIMS = (2, 2, 4, 4, 4)
_GP_PS = (False, True, False, True, False)


def _gp_tables(
    tables: Sequence[torch.Tensor | None], dtype: torch.dtype, B: int
) -> tuple[list[int], list[int], list[torch.Tensor]]:
    """Pointers and row counts of the 5 program tables (validated: dtype, shape, CPU), and the
    tensors to keep alive during the call."""
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


def _gp_ops(ops: torch.Tensor) -> torch.Tensor:
    if not isinstance(ops, torch.Tensor) or ops.dtype != torch.int32 or ops.dim() != 2 or ops.shape[1] != 4:
        raise ValueError("ops must be an int32 tensor of shape (nops, 4)")
    return ops.contiguous()


def prog_forward(state: torch.Tensor, ops: torch.Tensor, tables: Sequence[torch.Tensor | None],
                 nthreads: int | None = None) -> None:
    """In place: run the gate program ``ops`` on every sample of ``state`` ``(B, 2**n)``.

    Raises ``ValueError`` naming the first op that references a missing table row or a bad wire.

    Example:
        >>> s = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
        >>> x = torch.tensor([[[0.0, 1.0], [1.0, 0.0]]])
        >>> prog_forward(s, torch.tensor([[0, 1, 0, 0]], dtype=torch.int32), [x, None, None, None, None])
        >>> s.tolist()  # X on qubit 1 (the least significant bit)
        [[0.0, 1.0, 0.0, 0.0]]
    """
    ext = need()
    B, n, code = check_state(state, "state")
    ops = _gp_ops(ops)
    ptrs, rows, _keep = _gp_tables(tables, state.dtype, B)
    ext.prog_forward(state.data_ptr(), B, n, code, ops.data_ptr(), ops.shape[0], *ptrs, *rows,
                     nthreads_or_default(nthreads))


def prog_adjoint(psi: torch.Tensor, g: torch.Tensor, ops: torch.Tensor, tables: Sequence[torch.Tensor | None],
                 grads: Sequence[torch.Tensor | None], nthreads: int | None = None) -> None:
    """The adjoint walk of :func:`prog_forward`, in place.

    ``psi`` (final state) and ``g`` (its gradient, torch convention) ``(B, 2**n)`` are undone
    gate by gate, and ``grads[t]`` (for tables 0-3: tensors shaped like the tables, or None when
    not wanted) receive ``dL/d table`` (shared ones summed over the batch, accumulated in
    float64). The matrices must be unitary.
    """
    ext = need()
    B, n, code = check_state(psi, "psi")
    if g.shape != psi.shape or g.dtype != psi.dtype:
        raise ValueError(f"g must match psi: {tuple(psi.shape)} {psi.dtype}, got {tuple(g.shape)} {g.dtype}")
    check_state(g, "g")
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
    ext.prog_adjoint(psi.data_ptr(), g.data_ptr(), B, n, code, ops.data_ptr(), ops.shape[0], *ptrs, *rows,
                     *gptr, nthreads_or_default(nthreads))


def _blocks_args(state: torch.Tensor, desc: torch.Tensor, mats: torch.Tensor) -> tuple[int, int, int]:
    B, n, code = check_state(state, "state")
    if not isinstance(desc, torch.Tensor) or desc.dtype != torch.int64 or desc.dim() != 2 or \
            desc.shape[1] != BLOCK_RECORD or not desc.is_contiguous():
        raise ValueError(f"desc must be a contiguous int64 tensor of shape (nblocks, {BLOCK_RECORD})")
    if mats.dtype != state.dtype or mats.dim() != 3 or mats.shape[1:] != (2, 2) or not mats.is_contiguous():
        raise ValueError(f"mats must be a contiguous (total_nw, 2, 2) tensor of dtype {state.dtype}")
    if (state.dtype.is_complex and mats.is_conj()) or mats.is_neg():
        raise ValueError("mats has a lazy conj/neg bit; call resolve_conj()/resolve_neg() first")
    return B, n, code


def blocks_forward(state: torch.Tensor, spare: torch.Tensor, desc: torch.Tensor, mats: torch.Tensor,
                   nthreads: int | None = None) -> int:
    """Run a block program (``desc`` ``(nblocks, BLOCK_RECORD)``, ``mats`` ``(total_nw, 2, 2)``).

    Returns 0 when the result is in ``state``, 1 when it is in ``spare`` (a separate tensor like
    ``state``; the other buffer is scratch).
    """
    ext = need()
    B, n, code = _blocks_args(state, desc, mats)
    if spare.shape != state.shape or spare.dtype != state.dtype or not spare.is_contiguous() or overlap(spare, state):
        raise ValueError("spare must be a separate contiguous tensor like state")
    return ext.blocks_forward(state.data_ptr(), spare.data_ptr(), B, n, code, desc.shape[0], desc.data_ptr(),
                              mats.data_ptr(), mats.shape[0], nthreads_or_default(nthreads))


def blocks_adjoint(psi: torch.Tensor, g: torch.Tensor, psi_spare: torch.Tensor, g_spare: torch.Tensor,
                   desc: torch.Tensor, mats: torch.Tensor, cross: torch.Tensor,
                   nthreads: int | None = None) -> int:
    """Adjoint walk of a block program (``desc`` holding the inverse permutations).

    ``cross`` ``(total_nw, 2, 2)`` gets each layer's cross matrix (``dL/dmats = cross @ mats``).
    Returns which pair (0: psi/g, 1: the spares) holds the state and gradient before the first
    block.
    """
    ext = need()
    B, n, code = _blocks_args(psi, desc, mats)
    for name, t in (("g", g), ("psi_spare", psi_spare), ("g_spare", g_spare)):
        if t.shape != psi.shape or t.dtype != psi.dtype or not t.is_contiguous():
            raise ValueError(f"{name} must be a contiguous tensor like psi")
    if any_overlap(psi, g, psi_spare, g_spare):
        raise ValueError("psi, g, psi_spare and g_spare must not overlap")
    if cross.shape != mats.shape or cross.dtype != mats.dtype or not cross.is_contiguous():
        raise ValueError("cross must be a contiguous tensor like mats")
    return ext.blocks_adjoint(psi.data_ptr(), g.data_ptr(), psi_spare.data_ptr(), g_spare.data_ptr(), B, n, code,
                              desc.shape[0], desc.data_ptr(), mats.data_ptr(), mats.shape[0], cross.data_ptr(),
                              nthreads_or_default(nthreads))
