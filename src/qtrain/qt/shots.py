"""Finite-shot Quantum-Train: the generator's probabilities estimated from ``shots`` measurements.

The paper's simulations assume exact probabilities (Sec. III.C); on hardware each optimiser step
measures the circuit ``shots`` times and gradients come from the parameter-shift rule. With
``diff_method="parameter_shift"`` every circuit parameter costs two extra shot-estimated circuit
runs per step: QT-16 on 13 qubits has 208 Ry angles, so one step runs the circuit
``1 + 2 * 208 = 417`` times (each with its own ``shots`` samples) instead of once forward and
once adjoint. Samples come from torch's global RNG, so a seeded run is reproducible and its
checkpoints resume exactly. The shots live on the generator
(:attr:`QuantumParameterGenerator.shots`), where the probabilities are computed.

Example:
    >>> import torch
    >>> from torch import nn
    >>> from qtrain.qt import QuantumTrain
    >>> qt = QuantumTrain(nn.Linear(3, 2), blocks=1, diff_method="parameter_shift", calibrate=False)
    >>> qt = use_shots(qt, shots=1000)
    >>> p = qt.generator.probs() * 1000          # counts: whole numbers
    >>> bool((p - p.round()).abs().max() < 1e-3)
    True
    >>> use_shots(qt, None).generator.shots is None   # exact probabilities again
    True
"""
from __future__ import annotations

from typing import TypeVar

from torch import nn

from qtrain.qt.generator import QuantumParameterGenerator

__all__ = ["use_shots"]

M = TypeVar("M", bound=nn.Module)


def use_shots(model: M, shots: int | None) -> M:
    """Make every Quantum-Train generator inside ``model`` measure ``shots`` times per generation.

    Args:
        model: a :class:`~qtrain.qt.QuantumTrain`, a :class:`QuantumParameterGenerator` or any module
            containing them; their ``diff_method`` must be ``"parameter_shift"`` (the only one defined
            for estimates) unless ``shots`` is ``None``.
        shots: measurements per circuit run (>= 1), or ``None`` for exact probabilities.

    Returns:
        ``model`` itself (its generators' :attr:`~QuantumParameterGenerator.shots` set).

    Raises:
        ValueError: bad ``shots``, no generator inside, or a generator not using parameter shift.
    """
    gens = [m for m in model.modules() if isinstance(m, QuantumParameterGenerator)]
    if not gens:
        raise ValueError(f"model ({type(model).__name__}) holds no QuantumParameterGenerator; pass a QuantumTrain")
    for g in gens:
        g.shots = shots  # validated by the generator: a positive int with parameter shift, or None
    return model
