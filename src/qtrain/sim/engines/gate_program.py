"""The native gate-program engine: the whole circuit as one C call, gate by gate, per sample (CPU).

The program is an int32 table of rows ``(table, wire0, wire1, row)`` in circuit order (see
``_native.prog_forward``); its matrices come from five tables: shared / per-sample 2x2, shared /
per-sample 4x4 (the operands, straight from :class:`~qtrain.sim.tables.Tables`) and the constant
4x4 matrices of fixed two-qubit gates (packed here, once).
"""
from __future__ import annotations

from typing import ClassVar, Sequence

import torch
from torch import Tensor

from qtrain.sim.engines.base import EngineContext
from qtrain.sim.engines.native import kernels, runs_native
from qtrain.sim.gates import Gate
from qtrain.sim.modes import Engine
from qtrain.sim.program import Program
from qtrain.sim.tables import Tables

__all__ = ["GateProgram", "GATE_PROGRAM_MAX_QUBITS", "GATE_PROGRAM_MAX_AMPLITUDES", "pack_gate_program"]

# The gate program runs gate by gate with plain C loops, one sample's state at a time: best for
# circuits whose stages would otherwise run in torch (parameterised two-qubit gates, phased
# permutations) up to this many qubits, and for any circuit while batch * 2**n is this small (call
# overhead dominates). Larger real circuits (Ry layers + CNOT networks) run on the fused,
# vectorised layer kernels. Measured here on 2 cores (benchmarks/bench_sim.py workloads).
GATE_PROGRAM_MAX_QUBITS = 14
GATE_PROGRAM_MAX_AMPLITUDES = 2**11

_CONTROLLED = 8  # flag: a diag(I, U) matrix, applied (and differentiated) as U only
_SHARED1, _SHARED2, _CONST2 = 0, 2, 4  # table codes; +1: the per-sample table


def _is_controlled(m: Tensor) -> bool:
    return bool(torch.allclose(m[:2, :2], torch.eye(2, dtype=m.dtype)) and not m[:2, 2:].any()
                and not m[2:, :2].any())


def pack_gate_program(program: Program, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """``(ops, const)``: int32 ``(n_ops, 4)`` program rows and the ``(R, 4, 4)`` constant matrices."""
    rows: list[tuple[int, int, int, int]] = []
    const: list[Tensor] = []
    const_rows: dict[Gate, tuple[int, int]] = {}  # gate -> (row, flags)
    for op, per_sample, row in program.gates:
        w0 = op.wires[0]
        w1 = op.wires[1] if len(op.wires) > 1 else 0
        if op.gate.n_wires == 1:
            rows.append((_SHARED1 + per_sample, w0, 0, row))
        elif row < 0:  # a fixed gate: its matrix is a constant of the program
            if op.gate not in const_rows:
                m = op.gate.matrix(None).to(torch.complex128)
                const_rows[op.gate] = (len(const), _CONTROLLED if _is_controlled(m) else 0)
                const.append(m)
            crow, flags = const_rows[op.gate]
            rows.append((_CONST2 + flags, w0, w1, crow))
        else:
            flags = _CONTROLLED if op.gate.controlled else 0
            rows.append((_SHARED2 + per_sample + flags, w0, w1, row))
    ops = torch.tensor(rows, dtype=torch.int32).reshape(-1, 4)
    c2 = torch.stack(const) if const else torch.zeros(0, 4, 4, dtype=torch.complex128)
    return ops, (c2 if dtype.is_complex else c2.real).to(dtype).contiguous()


class GateProgram:
    """Every gate in C, one sample's state at a time (CPU, small states or dense circuits)."""

    kind: ClassVar[Engine] = Engine.GATES
    differentiable: ClassVar[bool] = False

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self.ops, self.const = pack_gate_program(ctx.program, ctx.dtype)

    @classmethod
    def build(cls, ctx: EngineContext) -> GateProgram | None:
        return cls(ctx) if runs_native(ctx.device, ctx.program.n) else None

    def prefers(self, batch: int) -> bool:
        p = self.ctx.program
        if p.has_dense and p.n <= GATE_PROGRAM_MAX_QUBITS:
            return True
        return batch * 2**p.n <= GATE_PROGRAM_MAX_AMPLITUDES

    def operands(self, tables: Tables) -> list[Tensor | None]:
        return [t.contiguous() for t in tables]

    def forward(self, state: Tensor, operands: Sequence[Tensor | None]) -> Tensor:
        kernels.prog_forward(state, self.ops, [*operands, self.const])
        return state

    def adjoint(self, psi: Tensor, g: Tensor, operands: Sequence[Tensor | None],
                wanted: Sequence[bool]) -> list[Tensor | None]:
        psi = psi.clone()
        g2 = torch.empty_like(psi)
        g2.copy_(g)  # resolves conj/neg bits and strides in one copy
        grads = [torch.empty_like(t) if w and t is not None else None for t, w in zip(operands, wanted)]
        kernels.prog_adjoint(psi, g2, self.ops, [*operands, self.const], grads)
        return grads
