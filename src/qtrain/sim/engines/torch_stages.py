"""The torch engine: the program stage by stage with torch ops, on any device.

It is the only engine autograd can trace (the ``backprop`` method), the fallback off CPU or
without the native kernels, and the twin every native engine is tested against. Its adjoint walks
the stages backwards, undoing each one (``apply.*_adjoint``).
"""
from __future__ import annotations

from typing import ClassVar, Sequence

from torch import Tensor

from qtrain.sim.apply import apply_2q, apply_layer, apply_permutation, layer_adjoint, twoq_adjoint
from qtrain.sim.engines.base import EngineContext
from qtrain.sim.modes import Engine
from qtrain.sim.program import LayerStage, MonomialStage, Stage
from qtrain.sim.tables import Tables

__all__ = ["TorchStages", "apply_stage", "adjoint_stage"]


def apply_stage(st: Stage, state: Tensor, n: int, mat: Tensor | None) -> Tensor:
    """``state`` after stage ``st`` (``mat``: its matrices; None for permutations)."""
    if isinstance(st, LayerStage):
        return apply_layer(state, n, st.wires, mat)  # type: ignore[arg-type]
    if isinstance(st, MonomialStage):
        return apply_permutation(state, st.index_tensor(state.device), st.phase_tensor(state.dtype, state.device))
    return apply_2q(state, n, st.wires, mat)  # type: ignore[arg-type]


def _undo_permutation(st: MonomialStage, state: Tensor) -> Tensor:
    ph = st.phase_tensor(state.dtype, state.device)
    if ph is not None:
        state = state * (ph.conj() if ph.is_complex() else ph)
    return state.index_select(1, st.inverse_tensor(state.device))


def adjoint_stage(st: Stage, psi: Tensor, g: Tensor, n: int,
                  mat: Tensor | None) -> tuple[Tensor, Tensor, Tensor | None]:
    """Undo stage ``st``: ``(psi before, g before, dL/d mat)`` from the state and gradient after it."""
    if isinstance(st, LayerStage):
        return layer_adjoint(psi, g, n, st.wires, mat)  # type: ignore[arg-type]
    if isinstance(st, MonomialStage):
        return _undo_permutation(st, psi), _undo_permutation(st, g), None
    return twoq_adjoint(psi, g, n, st.wires, mat)  # type: ignore[arg-type]


class TorchStages:
    """Stage by stage in torch (any device; differentiable by autograd)."""

    kind: ClassVar[Engine] = Engine.STAGES
    differentiable: ClassVar[bool] = True

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx

    @classmethod
    def build(cls, ctx: EngineContext) -> TorchStages:
        return cls(ctx)

    def prefers(self, batch: int) -> bool:
        return True

    def operands(self, tables: Tables) -> list[Tensor | None]:
        return self.ctx.layers.stage_tensors(tables)

    def forward(self, state: Tensor, operands: Sequence[Tensor | None]) -> Tensor:
        n = self.ctx.program.n
        for st, t in zip(self.ctx.program.stages, operands):
            state = apply_stage(st, state, n, t)
        return state

    def adjoint(self, psi: Tensor, g: Tensor, operands: Sequence[Tensor | None],
                wanted: Sequence[bool]) -> list[Tensor | None]:
        stages, n = self.ctx.program.stages, self.ctx.program.n
        grads: list[Tensor | None] = [None] * len(stages)
        g = g.contiguous()
        for i in reversed(range(len(stages))):
            psi, g, grads[i] = adjoint_stage(stages[i], psi, g, n, operands[i])
        return grads
