"""The two choices a compiled circuit takes: how gradients are computed and which engine runs it.

Example:
    >>> DiffMethod.parse("adjoint") is DiffMethod.ADJOINT
    True
    >>> Engine.parse("fast")
    Traceback (most recent call last):
    ...
    ValueError: engine='fast' is not supported; use one of ['auto', 'gates', 'blocks', 'stages', 'triton']
"""
from __future__ import annotations

from qtrain.choices import ChoiceEnum, argument

__all__ = ["DiffMethod", "Engine"]


@argument("diff_method")
class DiffMethod(ChoiceEnum):
    """How gradients are computed."""

    BACKPROP = "backprop"  # torch autograd through every gate
    ADJOINT = "adjoint"  # reverse pass recomputing states: memory independent of depth
    PARAMETER_SHIFT = "parameter_shift"  # hardware-compatible, works with shots


@argument("engine")
class Engine(ChoiceEnum):
    """How a run is executed (see :class:`qtrain.sim.CompiledCircuit`); results agree, speed differs."""

    AUTO = "auto"
    GATES = "gates"  # one native gate program: every gate in C, one sample's state at a time
    BLOCKS = "blocks"  # one native block program: fused layers + linear permutations in C
    STAGES = "stages"  # stage by stage from Python (native layer kernels, torch elsewhere)
    TRITON = "triton"  # fused Triton kernels: CUDA (chosen by "auto"), or CPU through Triton's interpreter
