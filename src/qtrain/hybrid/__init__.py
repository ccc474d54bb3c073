"""Hybrid layers: data flows through a circuit (unlike Quantum-Train, they need it at inference).

* :class:`CircuitLayer` -- any :class:`qtrain.sim.Circuit` with ``Input`` parameters as a module (like
  PennyLane's ``TorchLayer``): trainable weights, optional input scaling, ``expval`` or ``probs`` out.
* :class:`QuantumLayer` -- angles ``(..., n)`` -> ``<Z>`` ``(..., n)``, an ordinary ``nn.Module``.
* :class:`QCML` -- the Quantum-Train paper's QCML baseline (Fig. 4): CNN -> 13-qubit QNN -> Linear.

Example:
    >>> import torch
    >>> from qtrain.hybrid import QuantumLayer
    >>> QuantumLayer(3, blocks=1)(torch.zeros(2, 3)).shape
    torch.Size([2, 3])
"""
from __future__ import annotations

from qtrain.hybrid.circuit_layer import CircuitLayer, CircuitOutput
from qtrain.hybrid.layer import ENCODINGS, QuantumLayer, qcml_circuit
from qtrain.hybrid.qcml import QCML, QCML_INPUT_SHAPES, QCML_PARAMS

__all__ = ["CircuitLayer", "CircuitOutput", "QuantumLayer", "ENCODINGS", "qcml_circuit", "QCML", "QCML_PARAMS",
           "QCML_INPUT_SHAPES"]
