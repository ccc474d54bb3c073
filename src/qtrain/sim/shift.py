"""Parameter-shift gradients: the hardware-compatible rule, also valid with finite shots.

Every occurrence of a weight or input in the circuit is shifted by its gate's rule
(two-term for rotations, four-term for controlled rotations) and the measured outputs are
recombined; the result is exact for exact probabilities and unbiased for shot estimates.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import torch
from torch import Tensor

from qtrain.sim.circuit import Input

if TYPE_CHECKING:
    from qtrain.sim.executor import CompiledCircuit

__all__ = ["parameter_shift_run"]


def _evaluate(cc: CompiledCircuit, fn: Callable[[Tensor], Tensor], w: Tensor, x: Tensor | None, b: int,
              shift: tuple[int, int, int, float] | None = None) -> Tensor:
    with torch.no_grad():
        return fn(cc.run_nograd(w, x, b, shift))


class _ShiftRun(torch.autograd.Function):
    @staticmethod
    def forward(ctx, cc, fn, b, w, x):  # type: ignore[override]
        ctx.cc, ctx.fn, ctx.b = cc, fn, b
        ctx.save_for_backward(w, x if x is not None else torch.empty(0))
        ctx.has_x = x is not None
        return _evaluate(cc, fn, w, x, b)

    @staticmethod
    def backward(ctx, grad_out: Tensor):  # type: ignore[override]
        cc: CompiledCircuit = ctx.cc
        w, x = ctx.saved_tensors
        x = x if ctx.has_x else None
        need_w, need_x = ctx.needs_input_grad[3], ctx.has_x and ctx.needs_input_grad[4]
        gw = torch.zeros_like(w) if need_w else None
        gx = torch.zeros_like(x) if need_x else None
        groups = cc.program.groups1 + cc.program.groups2
        for gi, oi, si in cc.program.occurrences():
            src = groups[gi].ops[oi].params[si]
            if (isinstance(src, Input) and not need_x) or (isinstance(src, int) and not need_w):
                continue
            rule = groups[gi].gate.shift_rules[si]
            d = sum(c * _evaluate(cc, ctx.fn, w, x, ctx.b, (gi, oi, si, s)) for c, s in rule)
            contrib = (grad_out * d).reshape(grad_out.shape[0], -1).sum(1)  # (B,)
            if isinstance(src, Input):
                gx[:, src.index] += src.scale * contrib  # type: ignore[index]
            else:
                gw[src] += contrib.sum()  # type: ignore[index]
        return None, None, None, gw, gx


def parameter_shift_run(cc: CompiledCircuit, fn: Callable[[Tensor], Tensor], w: Tensor,
                        x: Tensor | None, b: int) -> Tensor:
    """Measured output ``fn(state)`` whose backward uses parameter shifts."""
    return _ShiftRun.apply(cc, fn, b, w, x)
