"""Finite-shot Quantum-Train: the generator's probabilities estimated from ``shots`` measurements.

The paper's simulations assume exact probabilities (Sec. III.C); on hardware each optimiser step
measures the circuit ``shots`` times and gradients come from the parameter-shift rule. With
``diff_method="parameter_shift"`` every circuit parameter costs two extra shot-estimated circuit
runs per step: QT-16 on 13 qubits has 208 Ry angles, so one step runs the circuit
``1 + 2 * 208 = 417`` times (each with its own ``shots`` samples) instead of once forward and
once adjoint. Samples come from torch's global RNG, so a seeded run is reproducible and its
checkpoints resume exactly.

Example:
    >>> import torch
    >>> from torch import nn
    >>> from qtrain.qt import QuantumTrain
    >>> qt = QuantumTrain(nn.Linear(3, 2), blocks=1, diff_method="parameter_shift", calibrate=False)
    >>> qt = use_shots(qt, shots=1000)
    >>> p = qt.generator.probs() * 1000          # counts: whole numbers
    >>> bool((p - p.round()).abs().max() < 1e-3)
    True
"""
from __future__ import annotations

from torch import Tensor, nn

from qtrain.qt import QuantumParameterGenerator, QuantumTrain
from qtrain.sim import DiffMethod

__all__ = ["ShotParameterGenerator", "use_shots"]


class ShotParameterGenerator(QuantumParameterGenerator):
    """A :class:`QuantumParameterGenerator` whose :meth:`probs` are ``shots``-sample estimates.

    Made by :func:`use_shots` from an existing generator (weights and buffers are kept).
    """

    shots: int

    def probs(self) -> Tensor:
        """Estimated probabilities of the first ``n_groups`` basis states ``(n_groups,)`` (counts / shots)."""
        w = self.qnn_weights
        return self.circuit.probs(w, shots=self.shots)[0, : self.n_groups].to(w.dtype)

    def extra_repr(self) -> str:
        return f"shots={self.shots}, " + super().extra_repr()


def use_shots(model: nn.Module, shots: int) -> nn.Module:
    """Make every Quantum-Train generator inside ``model`` measure ``shots`` times per generation.

    Args:
        model: a :class:`QuantumTrain`, a :class:`QuantumParameterGenerator` or any module containing them;
            their ``diff_method`` must be ``"parameter_shift"`` (the only one defined for estimates).
        shots: measurements per circuit run (>= 1).

    Returns:
        ``model`` itself (its generators now are :class:`ShotParameterGenerator`).

    Raises:
        ValueError: bad ``shots``, no generator inside, or a generator not using parameter shift.
    """
    if isinstance(shots, bool) or not isinstance(shots, int) or shots < 1:
        raise ValueError(f"shots={shots!r} must be a positive integer (measurements per circuit run)")
    gens = [m for m in model.modules() if isinstance(m, QuantumParameterGenerator)]
    if not gens:
        raise ValueError(f"model ({type(model).__name__}) holds no QuantumParameterGenerator; pass a QuantumTrain")
    for g in gens:
        if g.diff_method is not DiffMethod.PARAMETER_SHIFT:
            raise ValueError(f"shots={shots} needs diff_method='parameter_shift' but the generator uses "
                             f"{g.diff_method.value!r}; build it with diff_method='parameter_shift'")
        g.__class__ = ShotParameterGenerator  # same state, one overridden method
        g.shots = shots
    if isinstance(model, QuantumTrain):
        model._cache = None
    return model
