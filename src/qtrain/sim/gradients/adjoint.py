"""The adjoint method: forward without a graph, backward by undoing the circuit from the end.

Memory stays at a few statevectors whatever the depth: the backward pass recomputes earlier
states by applying inverse gates to the final state while it carries the gradient back. Each
engine implements its own walk (``EngineImpl.adjoint``); this module is the one autograd
Function that connects any engine to torch.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from qtrain.sim.engines.base import EngineImpl, zero_state

__all__ = ["AdjointRun", "adjoint_run"]


class AdjointRun(torch.autograd.Function):
    """Engine operands -> final state ``(B, 2**n)``; backward is the engine's adjoint walk."""

    @staticmethod
    def forward(ctx: Any, engine: EngineImpl, batch: int, *operands: Tensor | None) -> Tensor:  # type: ignore[override]
        out = engine.forward(zero_state(engine.ctx, batch), operands)
        ctx.engine = engine
        ctx.save_for_backward(out, *operands)
        return out

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        psi, *operands = ctx.saved_tensors
        wanted = [ctx.needs_input_grad[2 + i] and t is not None and t.numel() > 0 for i, t in enumerate(operands)]
        with torch.no_grad():
            grads = ctx.engine.adjoint(psi, g, operands, wanted)
        return (None, None, *grads)


def adjoint_run(engine: EngineImpl, batch: int, operands: list[Tensor | None]) -> Tensor:
    """Final state of ``batch`` samples from ``|0...0>`` whose backward uses the adjoint method.

    Example:
        >>> import torch
        >>> from qtrain.sim import ansatz
        >>> cc = ansatz.ry_cnot(3, blocks=1).compile()
        >>> w = torch.zeros(3, requires_grad=True)
        >>> float(cc.probs(w)[0, 0].detach())  # adjoint_run underneath
        1.0
    """
    return AdjointRun.apply(engine, batch, *operands)
