"""The data a circuit is made of: ops (gate, wires, parameter sources). No torch, no state.

A parameter of an op is fed by one of:

* an ``int`` ``i``: trainable weight ``weights[i]``, shared by every sample;
* :class:`Input` ``(j)``: per-sample data ``inputs[:, j]`` (angle encoding), times ``scale``;
* a ``float``: a constant.

This module sits below everything else in :mod:`qtrain.sim` that reads circuits (the program
compiler, the engines, the gradient methods), so none of them imports the builder
:mod:`qtrain.sim.circuit`.

Example:
    >>> from qtrain.sim.gates import get_gate
    >>> Op(get_gate("ry"), (0,), (Input(1, 0.5),)).params[0].scale
    0.5
"""
from __future__ import annotations

from dataclasses import dataclass

from qtrain.sim.gates import Gate

__all__ = ["Input", "Op", "ParamSource", "check_source"]


@dataclass(frozen=True)
class Input:
    """Per-sample parameter source: ``scale * inputs[:, index]``."""

    index: int
    scale: float = 1.0


ParamSource = int | float | Input


@dataclass(frozen=True)
class Op:
    """One gate application: ``gate`` on ``wires`` (first wire most significant) fed by ``params``."""

    gate: Gate
    wires: tuple[int, ...]
    params: tuple[ParamSource, ...]


def check_source(p: object, gate: Gate) -> ParamSource:
    """``p`` as a parameter source of ``gate``.

    Raises:
        ValueError: for anything but a non-negative int, a float or an :class:`Input` with a
            non-negative index.
    """
    if isinstance(p, bool) or not isinstance(p, (int, float, Input)):
        raise ValueError(
            f"parameter {p!r} of gate {gate.name!r} must be an int (weight index), "
            "a float (constant) or qtrain.sim.Input(j) (per-sample input)"
        )
    if isinstance(p, int) and p < 0:
        raise ValueError(f"weight index {p} of gate {gate.name!r} must be >= 0")
    if isinstance(p, Input) and p.index < 0:
        raise ValueError(f"input index {p.index} of gate {gate.name!r} must be >= 0")
    return p
