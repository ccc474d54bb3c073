"""Run a compiled program through the native kernels (CPU, no autograd graph needed).

Used by the adjoint method's forward pass (under ``no_grad``) and its backward pass. A layer
followed by a phase-free permutation (Ry layer + CNOT chain) runs as one fused kernel call in
both directions. Dense two-qubit stages and phased permutations use the torch kernels.
"""
from __future__ import annotations

import os
from typing import Sequence

import torch
from torch import Tensor

from qtrain.sim.program import LayerStage, MonomialStage, Program

__all__ = ["native_available", "native_ok", "native_forward", "native_adjoint", "gate_program_forward",
           "gate_program_adjoint", "BlockProgram", "block_program"]

try:
    from qtrain.sim import _native
except ImportError:  # pragma: no cover - the package ships the module; the extension may be missing
    _native = None  # type: ignore[assignment]


def native_available() -> bool:
    """True when the native kernels are built and not disabled (``QTRAIN_DISABLE_NATIVE=1``)."""
    return _native is not None and _native.AVAILABLE and os.environ.get("QTRAIN_DISABLE_NATIVE", "") != "1"


def native_ok(state: Tensor) -> bool:
    """True when the native kernels can run on ``state`` (CPU, built, not disabled)."""
    return state.device.type == "cpu" and native_available()


def _plan(st: MonomialStage, inverse: bool):  # noqa: ANN202 - PermPlan
    key = "_native_inv" if inverse else "_native_fwd"
    plan = st.__dict__.get(key)
    if plan is None:
        plan = _native.perm_plan(st.index)
        if inverse:
            plan = plan.inverse()
        st.__dict__[key] = plan
    return plan


def _fusable(stages: Sequence, i: int) -> bool:
    return (isinstance(stages[i], LayerStage) and i + 1 < len(stages)
            and isinstance(stages[i + 1], MonomialStage) and stages[i + 1].phases is None)


def native_forward(program: Program, state: Tensor, tensors: Sequence[Tensor | None]) -> Tensor:
    """Final state; ``state`` is copied first, so the caller's tensor is untouched."""
    stages, n = program.stages, program.n
    state = state.contiguous().clone()
    spare = torch.empty_like(state)
    i = 0
    while i < len(stages):
        st = stages[i]
        if _fusable(stages, i):
            _native.layer_apply_permute(state, st.wires, tensors[i], _plan(stages[i + 1], False), out=spare)
            state, spare = spare, state
            i += 2
            continue
        if isinstance(st, LayerStage):
            _native.layer_apply_(state, st.wires, tensors[i])
        elif isinstance(st, MonomialStage) and st.phases is None:
            _native.permute(state, _plan(st, False), out=spare)
            state, spare = spare, state
        else:
            state = st.apply(state, n, tensors[i]).contiguous()
            spare = torch.empty_like(state)
        i += 1
    return state


def native_adjoint(program: Program, psi: Tensor, g: Tensor,
                   tensors: Sequence[Tensor | None]) -> tuple[Tensor, list[Tensor | None]]:
    """Walk the stages backwards; returns (gradient w.r.t. the initial state, stage gradients)."""
    stages, n = program.stages, program.n
    psi, g = psi.contiguous().clone(), g.to(psi.dtype).contiguous().clone()
    sp, sg = torch.empty_like(psi), torch.empty_like(g)
    grads: list[Tensor | None] = [None] * len(stages)
    i = len(stages) - 1
    while i >= 0:
        st = stages[i]
        if i >= 1 and _fusable(stages, i - 1):
            mats = tensors[i - 1]
            cross, psi_o, g_o = _native.permute_layer_adjoint(
                psi, g, _plan(st, True), stages[i - 1].wires, mats, psi_out=sp, g_out=sg)
            grads[i - 1] = cross @ mats
            psi, sp, g, sg = psi_o, psi, g_o, g
            i -= 2
            continue
        if isinstance(st, LayerStage):
            grads[i] = _native.layer_adjoint_(psi, g, st.wires, tensors[i]) @ tensors[i]
        elif isinstance(st, MonomialStage) and st.phases is None:
            plan = _plan(st, True)
            _native.permute(psi, plan, out=sp)
            _native.permute(g, plan, out=sg)
            psi, sp, g, sg = sp, psi, sg, g
        else:
            psi, g, grads[i] = st.adjoint(psi, g, n, tensors[i])
            psi, g = psi.contiguous(), g.contiguous()
            sp, sg = torch.empty_like(psi), torch.empty_like(g)
        i -= 1
    return g, grads



def gate_program_forward(s0: Tensor, ops: Tensor, tables: Sequence[Tensor], const2: Tensor) -> Tensor:
    """Final state of the whole circuit in one native call (``s0`` is written in place)."""
    _native.prog_forward(s0, ops, [*tables, const2])
    return s0


def gate_program_adjoint(psi: Tensor, g: Tensor, ops: Tensor, tables: Sequence[Tensor], const2: Tensor,
                         wanted: Sequence[bool]) -> list[Tensor | None]:
    """Gradients w.r.t. the four matrix tables (None where not ``wanted``)."""
    psi = psi.clone()
    g2 = torch.empty_like(psi)
    g2.copy_(g)  # resolves conj/neg bits and strides in one copy
    grads = [torch.empty_like(t) if w else None for t, w in zip(tables, wanted)]
    _native.prog_adjoint(psi, g2, ops, [*tables, const2], grads)
    return grads


class BlockProgram:
    """A circuit of shared layers and linear permutations run in one native call per direction.

    ``forward_desc`` / ``adjoint_desc``: int64 block records for ``_native.blocks_forward`` /
    ``blocks_adjoint`` (the latter with the inverse permutations); ``total_nw``: rows of the
    packed ``(total_nw, 2, 2)`` layer matrices, in stage order.
    """

    def __init__(self, n: int, forward_desc: Tensor, adjoint_desc: Tensor, total_nw: int) -> None:
        self.n, self.forward_desc, self.adjoint_desc, self.total_nw = n, forward_desc, adjoint_desc, total_nw

    def forward(self, s0: Tensor, packed: Tensor) -> Tensor:
        spare = torch.empty_like(s0)
        which = _native.blocks_forward(s0, spare, self.forward_desc, packed)
        return spare if which else s0

    def adjoint(self, psi: Tensor, g: Tensor, packed: Tensor) -> Tensor:
        """dL/d packed matrices (``psi`` = final state, ``g`` = its gradient; neither is modified)."""
        psi = psi.clone()
        g2 = torch.empty_like(psi)
        g2.copy_(g)
        cross = torch.empty_like(packed)
        _native.blocks_adjoint(psi, g2, torch.empty_like(psi), torch.empty_like(psi), self.adjoint_desc, packed, cross)
        return cross @ packed


def block_program(program: Program) -> BlockProgram | None:
    """The block form of ``program``, or None when it has per-sample layers, dense two-qubit
    stages, phases or non-linear permutations (those run stage by stage)."""
    if _native is None or not _native.AVAILABLE:
        return None
    stages, n = program.stages, program.n
    rec = _native.BLOCK_RECORD
    fwd, inv = [], []
    offset, i = 0, 0
    while i < len(stages):
        st = stages[i]
        layer = st if isinstance(st, LayerStage) else None
        perm = None
        if layer is not None:
            if layer.per_sample:
                return None
            if i + 1 < len(stages) and isinstance(stages[i + 1], MonomialStage):
                perm = stages[i + 1]
        elif isinstance(st, MonomialStage):
            perm = st
        else:
            return None
        if perm is not None and (perm.phases is not None or not _plan(perm, False).linear):
            return None
        kind = (1 if layer is not None else 0) | (2 if perm is not None else 0)
        nw = len(layer.wires) if layer is not None else 0
        for out, inverse in ((fwd, False), (inv, True)):
            r = [0] * rec
            r[0], r[1], r[2] = kind, nw, offset
            if layer is not None:
                r[4:4 + nw] = [n - 1 - w for w in layer.wires]
            if perm is not None:
                plan = _plan(perm, inverse)
                r[3] = plan.const
                r[4 + _native.MAX_QUBITS:4 + _native.MAX_QUBITS + n] = list(plan.cols)
            out.append(r)
        offset += nw
        i += 1 + (layer is not None and perm is not None)
    return BlockProgram(n, torch.tensor(fwd, dtype=torch.int64), torch.tensor(inv, dtype=torch.int64), offset)
