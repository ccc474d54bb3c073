"""Parameter-shift gradients: the hardware-compatible rule, also valid with finite shots.

Every occurrence of a weight or input in the circuit is shifted by its gate's rule
(two-term for rotations, four-term for controlled rotations) and the measured outputs are
recombined; the result is exact for exact probabilities and unbiased for shot estimates.
"""
from __future__ import annotations

from typing import Any, Callable, Protocol

import torch
from torch import Tensor

from qtrain.sim.ops import Input
from qtrain.sim.program import Program
from qtrain.sim.tables import Shift

__all__ = ["ShiftTarget", "parameter_shift_run"]


class ShiftTarget(Protocol):
    """What the rule needs of a compiled circuit: its program and a graph-free run with a shift."""

    program: Program

    def run_nograd(self, weights: Tensor, inputs: Tensor | None, b: int, shift: Shift | None = None) -> Tensor:
        ...


def _evaluate(cc: ShiftTarget, fn: Callable[[Tensor], Tensor], w: Tensor, x: Tensor | None, b: int,
              shift: Shift | None = None) -> Tensor:
    with torch.no_grad():
        return fn(cc.run_nograd(w, x, b, shift))


class _ShiftRun(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, cc: ShiftTarget, fn: Callable[[Tensor], Tensor], b: int, w: Tensor,  # type: ignore[override]
                x: Tensor | None) -> Tensor:
        ctx.cc, ctx.fn, ctx.b = cc, fn, b
        ctx.save_for_backward(w, x)
        return _evaluate(cc, fn, w, x, b)

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        cc: ShiftTarget = ctx.cc
        w, x = ctx.saved_tensors
        need_w, need_x = ctx.needs_input_grad[3], x is not None and ctx.needs_input_grad[4]
        gw = torch.zeros_like(w) if need_w else None
        gx = torch.zeros_like(x) if need_x else None
        groups = cc.program.groups1 + cc.program.groups2
        for gi, oi, si in cc.program.occurrences():
            src = groups[gi].ops[oi].params[si]
            if (isinstance(src, Input) and not need_x) or (isinstance(src, int) and not need_w):
                continue
            rule = groups[gi].gate.shift_rules[si]
            d = sum(c * _evaluate(cc, ctx.fn, w, x, ctx.b, (gi, oi, si, s)) for c, s in rule)
            contrib = (grad_out * d).flatten(1).sum(1)  # (B,)
            if isinstance(src, Input):
                gx[:, src.index] += src.scale * contrib  # type: ignore[index]
            else:
                gw[src] += contrib.sum()  # type: ignore[index]
        return None, None, None, gw, gx


def parameter_shift_run(cc: ShiftTarget, fn: Callable[[Tensor], Tensor], w: Tensor,
                        x: Tensor | None, b: int) -> Tensor:
    """Measured output ``fn(state)`` whose backward uses parameter shifts.

    Example:
        >>> import torch
        >>> from qtrain.sim import Circuit
        >>> cc = Circuit(1).ry(0, 0).compile(diff_method="parameter_shift")
        >>> w = torch.tensor([0.5], requires_grad=True)
        >>> cc.expval(w).sum().backward()  # parameter_shift_run underneath
        >>> round(float(w.grad[0]), 4)  # d cos(w) / dw = -sin(0.5)
        -0.4794
    """
    return _ShiftRun.apply(cc, fn, b, w, x)
