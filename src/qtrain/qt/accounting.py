"""Parameter accounting: the one function every recipe and report uses.

``trainable = qnn + mapping + extras (+ classical)``; ``generated`` = the target model's parameters
produced by the generator. The frozen target template is never counted as trainable.

Example:
    >>> from torch import nn
    >>> s = count_parameters(nn.Linear(3, 2))   # a classical model: all of it is trainable
    >>> s.trainable, s.classical, s.generated
    (8, 8, 0)
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from torch import nn

__all__ = ["ParamSummary", "count_parameters"]


@dataclass(frozen=True)
class ParamSummary:
    """Parameter counts of a Quantum-Train model (or of a plain model, in ``classical``).

    Attributes:
        qnn: circuit weights.
        mapping: mapping-network weights.
        extras: other trainable generator weights (learnable scales, transform parameters, ...).
        classical: trainable parameters outside any generator (0 for a ``QuantumTrain``).
        generated: parameters of the target model produced by the generator (``M``).
        n_qubits, n_groups: circuit width and number of basis states fed to the mapping.
        trainable: ``qnn + mapping + extras + classical``.
        compression: ``trainable / generated`` (e.g. 457 / 6690 = 0.068 for QT-16 on MNIST);
            ``None`` when nothing is generated.
    """

    qnn: int = 0
    mapping: int = 0
    extras: int = 0
    classical: int = 0
    generated: int = 0
    n_qubits: int = 0
    n_groups: int = 0
    trainable: int = field(init=False)
    compression: float | None = field(init=False)

    def __post_init__(self) -> None:
        total = self.qnn + self.mapping + self.extras + self.classical
        object.__setattr__(self, "trainable", total)
        object.__setattr__(self, "compression", total / self.generated if self.generated else None)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for ``summary.json``)."""
        return asdict(self)

    def __str__(self) -> str:
        rows = [("QNN", self.qnn), ("mapping", self.mapping), ("extras", self.extras)]
        if self.classical:
            rows.append(("classical", self.classical))
        rows += [("trainable", self.trainable), ("generated (target)", self.generated)]
        lines = [f"{k:<20}{v:>12,}" for k, v in rows]
        if self.compression is not None:
            lines.append(f"{'trainable/generated':<20}{self.compression:>12.4f}")
        if self.n_qubits:
            lines.append(f"{'qubits / groups':<20}{f'{self.n_qubits} / {self.n_groups:,}':>12}")
        return "\n".join(lines)


def _numel(params: dict[int, nn.Parameter]) -> int:
    return sum(p.numel() for p in params.values() if p.requires_grad)


def count_parameters(model: nn.Module) -> ParamSummary:
    """Count trainable parameters by role.

    Works on a :class:`~qtrain.qt.QuantumTrain`, a :class:`~qtrain.qt.QuantumParameterGenerator`
    or any ``nn.Module``: every :class:`QuantumParameterGenerator` inside contributes its QNN,
    mapping and extras and its generated count; remaining trainable parameters count as
    ``classical``. Shared parameters are counted once; frozen ones (``requires_grad=False``) never.

    Example:
        >>> from torch import nn
        >>> from qtrain.qt import QuantumTrain
        >>> qt = QuantumTrain(nn.Linear(3, 2), blocks=2)
        >>> s = count_parameters(qt)
        >>> (s.qnn, s.mapping, s.trainable, s.generated)
        (6, 209, 215, 8)
    """
    from qtrain.qt.generator import QuantumParameterGenerator

    seen: dict[int, nn.Parameter] = {p_id: p for p_id, p in ((id(p), p) for p in model.parameters())}
    gens = [m for m in model.modules() if isinstance(m, QuantumParameterGenerator)]
    qnn: dict[int, nn.Parameter] = {}
    mapping: dict[int, nn.Parameter] = {}
    extras: dict[int, nn.Parameter] = {}
    for g in gens:
        qnn[id(g.qnn_weights)] = g.qnn_weights
        mapping.update({id(p): p for p in g.mapping.parameters() if id(p) not in qnn})
        extras.update({id(p): p for p in g.parameters() if id(p) not in qnn and id(p) not in mapping})
    classical = {k: p for k, p in seen.items() if k not in qnn and k not in mapping and k not in extras}
    return ParamSummary(
        qnn=_numel(qnn), mapping=_numel(mapping), extras=_numel(extras), classical=_numel(classical),
        generated=sum(g.n_generated for g in gens),
        n_qubits=max((g.n_qubits for g in gens), default=0), n_groups=sum(g.n_groups for g in gens),
    )
