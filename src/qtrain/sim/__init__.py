"""A fast differentiable statevector simulator (qubit 0 = most significant bit).

Layers, top-down: circuit description (:mod:`~qtrain.sim.circuit`, :mod:`~qtrain.sim.ops`) ->
program (:mod:`~qtrain.sim.program`: fusion and planning) -> matrices (:mod:`~qtrain.sim.tables`)
-> engines (:mod:`~qtrain.sim.engines`) -> gradient methods (:mod:`~qtrain.sim.gradients`), with
:class:`CompiledCircuit` (:mod:`~qtrain.sim.compiled`) as the public facade.

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
from qtrain.sim.circuit import Circuit
from qtrain.sim.compiled import CompiledCircuit
from qtrain.sim.density import DensityMatrixCircuit
from qtrain.sim.export import to_qasm3, to_qiskit
from qtrain.sim.gates import GATES, Gate, GateKind, get_gate
from qtrain.sim.modes import DiffMethod, Engine
from qtrain.sim.noise import AmplitudeDamping, BitFlip, Depolarizing, NoiseModel, PhaseFlip
from qtrain.sim.ops import Input, Op

__all__ = [
    "Circuit", "Input", "Op", "CompiledCircuit", "DiffMethod", "Engine", "Gate", "GateKind", "GATES", "get_gate",
    "ansatz", "build_ansatz", "ry_cnot", "u3_cu3",
    "DensityMatrixCircuit", "NoiseModel", "Depolarizing", "AmplitudeDamping", "BitFlip", "PhaseFlip",
    "to_qasm3", "to_qiskit",
]
