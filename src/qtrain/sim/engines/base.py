"""The engine interface: what every engine module implements, and what it is built from.

An engine runs a compiled :class:`~qtrain.sim.program.Program` on a batch of states. It

* is built once per compiled circuit from an :class:`EngineContext` (``build`` returns None when
  the engine cannot run this program on this device, e.g. native kernels off CPU);
* packs the parameter tables into its own *operands* (``operands``), the tensors gradients
  flow to;
* runs ``forward`` (no graph; the initial state may be used as scratch) and ``adjoint``
  (the reverse walk of the adjoint method: gradients w.r.t. its operands);
* says whether autograd can trace its forward (``differentiable``: only the torch engine) and
  whether it is a good choice for a batch (``prefers``, read by
  :func:`qtrain.sim.engines.select.choose_engine`).

A new engine (e.g. fused CUDA kernels) is one module implementing :class:`EngineImpl` plus its
entry in :data:`qtrain.sim.engines.select.ENGINES`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol, Sequence

import torch
from torch import Tensor

from qtrain.sim.modes import Engine
from qtrain.sim.program import Program
from qtrain.sim.tables import LayerMatrices, Tables

__all__ = ["EngineContext", "EngineImpl", "zero_state"]


@dataclass(frozen=True, eq=False)
class EngineContext:
    """What an engine is built from: the program, its layer matrices, the state dtype and device."""

    program: Program
    layers: LayerMatrices
    dtype: torch.dtype
    device: torch.device


class EngineImpl(Protocol):
    """One way of running a program (see the module docstring)."""

    kind: ClassVar[Engine]  # the user-facing choice this engine implements
    differentiable: ClassVar[bool]  # torch autograd can trace ``forward`` (the backprop method)
    ctx: EngineContext

    @classmethod
    def build(cls, ctx: EngineContext) -> EngineImpl | None:
        """The engine for ``ctx``, or None when it cannot run this program there."""
        ...

    def prefers(self, batch: int) -> bool:
        """True when this engine is a good choice for ``batch`` samples (``engine="auto"``)."""
        ...

    def operands(self, tables: Tables) -> list[Tensor | None]:
        """The engine's inputs packed from the parameter tables (None: nothing to differentiate)."""
        ...

    def forward(self, state: Tensor, operands: Sequence[Tensor | None]) -> Tensor:
        """Final flat state ``(B, 2**n)`` from the initial one (which may be overwritten)."""
        ...

    def adjoint(self, psi: Tensor, g: Tensor, operands: Sequence[Tensor | None],
                wanted: Sequence[bool]) -> list[Tensor | None]:
        """dL/d operands from the final state ``psi`` and ``g = dL/d psi`` (neither is modified).

        ``wanted[i]`` is False where operand ``i`` needs no gradient (its entry may then be None).
        """
        ...


def zero_state(ctx: EngineContext, batch: int) -> Tensor:
    """``|0...0>`` for ``batch`` samples: ``(batch, 2**n)`` in the context's dtype and device."""
    s = torch.zeros(batch, 2**ctx.program.n, dtype=ctx.dtype, device=ctx.device)
    s[:, 0] = 1
    return s
