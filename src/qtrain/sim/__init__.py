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
from qtrain.sim.density import DensityMatrixCircuit
from qtrain.sim.executor import CompiledCircuit, DiffMethod, Engine
from qtrain.sim.export import to_qasm3, to_qiskit
from qtrain.sim.gates import GATES, Gate, GateKind, get_gate
from qtrain.sim.noise import AmplitudeDamping, BitFlip, Depolarizing, NoiseModel, PhaseFlip

__all__ = [
    "Circuit", "Input", "Op", "CompiledCircuit", "DiffMethod", "Engine", "Gate", "GateKind", "GATES", "get_gate",
    "ansatz", "build_ansatz", "ry_cnot", "u3_cu3",
    "DensityMatrixCircuit", "NoiseModel", "Depolarizing", "AmplitudeDamping", "BitFlip", "PhaseFlip",
    "to_qasm3", "to_qiskit",
]
