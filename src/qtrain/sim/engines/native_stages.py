"""The native stage engine: stage by stage from Python, layers and permutations in C (CPU).

A layer followed by a phase-free permutation (Ry layer + CNOT chain) runs as one fused kernel
call in both directions. Dense two-qubit stages and phased permutations use the torch kernels.
"""
from __future__ import annotations

from typing import ClassVar, Sequence

import torch
from torch import Tensor

from qtrain.sim.engines.base import EngineContext
from qtrain.sim.engines.native import kernels, perm_plans, runs_native
from qtrain.sim.engines.torch_stages import adjoint_stage, apply_stage
from qtrain.sim.modes import Engine
from qtrain.sim.program import LayerStage, MonomialStage, Stage
from qtrain.sim.tables import Tables

__all__ = ["NativeStages"]


def _linear(st: Stage) -> bool:
    return isinstance(st, MonomialStage) and not st.phased


def _fusable(stages: Sequence[Stage], i: int) -> bool:
    return isinstance(stages[i], LayerStage) and i + 1 < len(stages) and _linear(stages[i + 1])


class NativeStages:
    """Stage by stage with the native layer and permutation kernels (CPU only)."""

    kind: ClassVar[Engine] = Engine.STAGES
    differentiable: ClassVar[bool] = False

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self._plans = perm_plans(ctx.program.stages)

    @classmethod
    def build(cls, ctx: EngineContext) -> NativeStages | None:
        return cls(ctx) if runs_native(ctx.device, ctx.program.n) else None

    def prefers(self, batch: int) -> bool:
        return True

    def operands(self, tables: Tables) -> list[Tensor | None]:
        return self.ctx.layers.stage_tensors(tables)

    def forward(self, state: Tensor, operands: Sequence[Tensor | None]) -> Tensor:
        stages, n = self.ctx.program.stages, self.ctx.program.n
        tensors = [None if t is None else t.detach() for t in operands]
        state = state.contiguous().clone()
        spare = torch.empty_like(state)
        i = 0
        while i < len(stages):
            st = stages[i]
            if _fusable(stages, i):
                plan = self._plans[id(stages[i + 1])][0]
                kernels.layer_apply_permute(state, st.wires, tensors[i], plan, out=spare)
                state, spare = spare, state
                i += 2
                continue
            if isinstance(st, LayerStage):
                kernels.layer_apply_(state, st.wires, tensors[i])
            elif _linear(st):
                kernels.permute(state, self._plans[id(st)][0], out=spare)
                state, spare = spare, state
            else:
                state = apply_stage(st, state, n, tensors[i]).contiguous()
                spare = torch.empty_like(state)
            i += 1
        return state

    def adjoint(self, psi: Tensor, g: Tensor, operands: Sequence[Tensor | None],
                wanted: Sequence[bool]) -> list[Tensor | None]:
        stages, n = self.ctx.program.stages, self.ctx.program.n
        psi, g = psi.contiguous().clone(), g.to(psi.dtype).contiguous().clone()
        sp, sg = torch.empty_like(psi), torch.empty_like(g)
        grads: list[Tensor | None] = [None] * len(stages)
        i = len(stages) - 1
        while i >= 0:
            st = stages[i]
            if i >= 1 and _fusable(stages, i - 1):
                mats = operands[i - 1]
                cross, psi_o, g_o = kernels.permute_layer_adjoint(
                    psi, g, self._plans[id(st)][1], stages[i - 1].wires, mats, psi_out=sp, g_out=sg)
                grads[i - 1] = cross @ mats
                psi, sp, g, sg = psi_o, psi, g_o, g
                i -= 2
                continue
            if isinstance(st, LayerStage):
                grads[i] = kernels.layer_adjoint_(psi, g, st.wires, operands[i]) @ operands[i]
            elif _linear(st):
                plan = self._plans[id(st)][1]
                kernels.permute(psi, plan, out=sp)
                kernels.permute(g, plan, out=sg)
                psi, sp, g, sg = sp, psi, sg, g
            else:
                psi, g, grads[i] = adjoint_stage(st, psi, g, n, operands[i])
                psi, g = psi.contiguous(), g.contiguous()
                sp, sg = torch.empty_like(psi), torch.empty_like(g)
            i -= 1
        return grads
