"""A fast differentiable statevector simulator (qubit 0 = most significant bit).

Example:
    >>> import torch
    >>> from qtrain.sim import ansatz
    >>> cc = ansatz.ry_cnot(4, blocks=3).compile(diff_method="adjoint")
    >>> w = torch.zeros(12, requires_grad=True)
    >>> cc.probs(w).shape
    torch.Size([1, 16])
"""
from __future__ import annotations

from qtrain.sim import ansatz
from qtrain.sim.ansatz import build_ansatz, ry_cnot, u3_cu3
from qtrain.sim.circuit import Circuit, Input, Op
from qtrain.sim.executor import CompiledCircuit, DiffMethod
from qtrain.sim.gates import GATES, Gate, GateKind, get_gate

__all__ = [
    "Circuit", "Input", "Op", "CompiledCircuit", "DiffMethod", "Gate", "GateKind", "GATES", "get_gate",
    "ansatz", "build_ansatz", "ry_cnot", "u3_cu3",
]
