"""The native block-program engine: shared layers and linear permutations in one C call (CPU).

The circuit becomes a list of block records (``_native.BLOCK_RECORD`` int64 values each: kind,
layer width, row offset, permutation constant, layer bit positions, permutation columns), one
list for the forward walk and one, with the inverse permutations, for the adjoint walk. The
operand is the ``(total wires, 2, 2)`` stack of fused layer matrices in stage order.
"""
from __future__ import annotations

from typing import ClassVar, Sequence

import torch
from torch import Tensor

from qtrain.sim.engines.base import EngineContext
from qtrain.sim.engines.native import kernels, perm_plans, runs_native
from qtrain.sim.modes import Engine
from qtrain.sim.program import DenseStage, LayerStage, MonomialStage, Program
from qtrain.sim.tables import Tables

__all__ = ["BlockProgram", "block_records", "supports_blocks"]


def supports_blocks(program: Program) -> bool:
    """True for circuits of shared single-qubit gates and phase-free CNOT/SWAP/X-like networks."""
    return not any(isinstance(st, DenseStage) or (isinstance(st, LayerStage) and st.per_sample)
                   or (isinstance(st, MonomialStage) and st.phased) for st in program.stages)


def _record(program: Program, layer: LayerStage | None, plan: object | None, offset: int) -> list[int]:
    n, rec, maxq = program.n, kernels.BLOCK_RECORD, kernels.MAX_QUBITS
    r = [0] * rec
    nw = len(layer.wires) if layer is not None else 0
    r[0], r[1], r[2] = (1 if layer is not None else 0) | (2 if plan is not None else 0), nw, offset
    if layer is not None:
        r[4:4 + nw] = [n - 1 - w for w in layer.wires]
    if plan is not None:
        r[3] = plan.const  # type: ignore[attr-defined]
        r[4 + maxq:4 + maxq + n] = list(plan.cols)  # type: ignore[attr-defined]
    return r


def block_records(program: Program) -> tuple[Tensor, Tensor, int]:
    """``(forward records, adjoint records, total layer wires)``; each block is a layer, a
    permutation, or a layer followed by a permutation."""
    stages, plans = program.stages, perm_plans(program.stages)
    fwd: list[list[int]] = []
    inv: list[list[int]] = []
    offset, i = 0, 0
    while i < len(stages):
        st = stages[i]
        layer = st if isinstance(st, LayerStage) else None
        perm = st if isinstance(st, MonomialStage) else None
        if layer is not None and i + 1 < len(stages) and isinstance(stages[i + 1], MonomialStage):
            perm = stages[i + 1]  # type: ignore[assignment]
        fp, ip = plans[id(perm)] if perm is not None else (None, None)
        fwd.append(_record(program, layer, fp, offset))
        inv.append(_record(program, layer, ip, offset))
        offset += len(layer.wires) if layer is not None else 0
        i += 1 + (layer is not None and perm is not None)
    shape = (-1, kernels.BLOCK_RECORD)
    return (torch.tensor(fwd, dtype=torch.int64).reshape(shape), torch.tensor(inv, dtype=torch.int64).reshape(shape),
            offset)


class BlockProgram:
    """The whole circuit as one native call per direction (CPU, shared layers + linear networks)."""

    kind: ClassVar[Engine] = Engine.BLOCKS
    differentiable: ClassVar[bool] = False

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self.forward_desc, self.adjoint_desc, self.total_nw = block_records(ctx.program)

    @classmethod
    def build(cls, ctx: EngineContext) -> BlockProgram | None:
        ok = runs_native(ctx.device, ctx.program.n) and supports_blocks(ctx.program)
        return cls(ctx) if ok else None

    def prefers(self, batch: int) -> bool:
        return True

    def operands(self, tables: Tables) -> list[Tensor | None]:
        return [self.ctx.layers.packed(tables)]

    def forward(self, state: Tensor, operands: Sequence[Tensor | None]) -> Tensor:
        spare = torch.empty_like(state)
        which = kernels.blocks_forward(state, spare, self.forward_desc, operands[0])
        return spare if which else state

    def adjoint(self, psi: Tensor, g: Tensor, operands: Sequence[Tensor | None],
                wanted: Sequence[bool]) -> list[Tensor | None]:
        packed = operands[0]
        assert packed is not None
        psi = psi.clone()
        g2 = torch.empty_like(psi)
        g2.copy_(g)
        cross = torch.empty_like(packed)
        kernels.blocks_adjoint(psi, g2, torch.empty_like(psi), torch.empty_like(psi), self.adjoint_desc, packed,
                               cross)
        return [cross @ packed]
