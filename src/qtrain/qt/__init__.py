"""Quantum-Train: a QNN plus a mapping network generate the weights of any classical model.

* :class:`QuantumTrain` -- wraps a target ``nn.Module``; only the generator is trainable.
* :class:`QuantumParameterGenerator` -- circuit -> probabilities -> embedding -> mapping -> M weights.
* :class:`MLPMapping` -- the mapping network (paper: tanh after the first layer; official code: linear).
* :func:`count_parameters` / :class:`ParamSummary` -- the one parameter-accounting function.
* :func:`use_shots` -- estimate the generator's probabilities from a finite number of shots.
* :func:`param_groups` -- optimizer groups with the mapping at its own learning rate.

Example:
    >>> import torch
    >>> from torch import nn
    >>> from qtrain.qt import QuantumTrain, MLPMapping
    >>> qt = QuantumTrain(nn.Linear(10, 2), blocks=3, mapping=MLPMapping((4, 4)))
    >>> qt(torch.randn(7, 10)).shape
    torch.Size([7, 2])
"""
from __future__ import annotations

from qtrain.qt.accounting import ParamSummary, count_parameters
from qtrain.qt.diffqas import ArchitectureReport, DiffQASGenerator, DiffQASTrain
from qtrain.qt.features import Bits, ProbTransform, Transform, basis_bits
from qtrain.qt.generator import QuantumParameterGenerator, min_qubits
from qtrain.qt.mapping import ACTIVATIONS, MLPMapping
from qtrain.qt.multimodel import MultimodelMapping, multimodel_layer_counts, multimodel_size
from qtrain.qt.optim import param_groups
from qtrain.qt.shots import use_shots
from qtrain.qt.template import TensorSpec
from qtrain.qt.wrapper import QuantumTrain

__all__ = [
    "QuantumTrain", "QuantumParameterGenerator", "MLPMapping", "ParamSummary", "count_parameters",
    "Bits", "Transform", "ProbTransform", "basis_bits", "min_qubits", "ACTIVATIONS", "TensorSpec",
    "MultimodelMapping", "multimodel_layer_counts", "multimodel_size", "use_shots", "param_groups",
    "DiffQASTrain", "DiffQASGenerator", "ArchitectureReport",
]
