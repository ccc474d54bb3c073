"""Noise channels as data, and a noise model saying which channels follow which gates.

Every channel here is a single-qubit CPTP map given by Kraus operators ``K_i``
(``sum_i K_i^H K_i = I``): ``rho -> sum_i K_i rho K_i^H``. Parametrisations:

* :class:`Depolarizing` ``(p)``: ``rho -> (1 - p) rho + p I/2``; ``p = 1`` is fully depolarizing.
  This is Qiskit's ``depolarizing_error(p, 1)``; PennyLane's ``DepolarizingChannel(p_pl)`` is
  the same map with ``p = 4 * p_pl / 3``.
* :class:`AmplitudeDamping` ``(gamma)``: ``|1>`` decays to ``|0>`` with probability ``gamma``.
* :class:`BitFlip` ``(p)``: ``X`` with probability ``p``; :class:`PhaseFlip` ``(p)``: ``Z`` with
  probability ``p``.

**Channels after two-qubit gates act on each wire independently**: a rule that puts
``Depolarizing(p)`` after a CNOT applies ``D_p`` to the control and ``D_p`` to the target (the
product ``D_p (x) D_p``), not the correlated two-qubit depolarizing channel of the same ``p``.
That keeps every channel a 2x2 Kraus set and matches the usual "per-qubit error after each gate"
device model.

:class:`NoiseModel` ``.scale`` multiplies every channel's probability; it is the noise-scaling
knob of zero-noise extrapolation (run at ``scale = 1, 2, 3`` and extrapolate to 0).

Example:
    >>> from qtrain.sim.noise import NoiseModel, Depolarizing, AmplitudeDamping
    >>> nm = NoiseModel().add(Depolarizing(0.01), gates=["cnot", "cu3"]).add(AmplitudeDamping(0.02))
    >>> len(nm.rules), nm.with_scale(2.0).scale
    (2, 2.0)
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import ClassVar, Iterable, Sequence

import torch
from torch import Tensor

from qtrain.sim.gates import Gate, get_gate

__all__ = [
    "Channel", "Depolarizing", "AmplitudeDamping", "BitFlip", "PhaseFlip", "NoiseRule", "NoiseModel",
]

_S2 = 1 / math.sqrt(2)


def _check_number(owner: str, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ValueError(f"{owner}: {name}={value!r} must be a finite real number")
    return float(value)


def _check_probability(owner: str, name: str, value: object) -> float:
    v = _check_number(owner, name, value)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{owner}: {name}={value!r} is out of range; allowed 0 <= {name} <= 1")
    return v


def _check_scale(scale: object) -> float:
    s = _check_number("NoiseModel", "scale", scale)
    if s < 0:
        raise ValueError(f"NoiseModel: scale={scale!r} must be >= 0 (1 = the channels' own probabilities)")
    return s


class Channel:
    """A single-qubit noise channel of one probability (subclasses are frozen dataclasses)."""

    param: ClassVar[str] = "p"

    def __post_init__(self) -> None:
        _check_probability(type(self).__name__, self.param, getattr(self, self.param))

    @property
    def probability(self) -> float:
        """The channel's own probability (``p`` or ``gamma``), before any noise scaling."""
        return float(getattr(self, self.param))

    def scaled_probability(self, scale: float = 1.0) -> float:
        """``probability * scale``, checked to stay a probability.

        Raises:
            ValueError: naming the channel, its probability and the scale when the product
                leaves ``[0, 1]``.
        """
        s = _check_scale(scale)
        q = self.probability * s
        if q > 1.0:
            raise ValueError(
                f"{self!r} with noise scale={s:g} gives {self.param}={q:g}, outside the allowed range "
                f"[0, 1]; use scale <= {1.0 / self.probability:g} for this channel"
            )
        return q

    def kraus(self, scale: float = 1.0, *, dtype: torch.dtype = torch.complex128,
              device: torch.device | str | None = None) -> Tensor:
        """Kraus operators ``(k, 2, 2)`` at probability ``probability * scale``."""
        ops = self._kraus_values(self.scaled_probability(scale))
        return torch.tensor(ops, dtype=torch.complex128).to(dtype=dtype, device=device)

    def superop(self, scale: float = 1.0, *, dtype: torch.dtype = torch.complex128,
                device: torch.device | str | None = None) -> Tensor:
        """``sum_i K_i (x) conj(K_i)``, ``(4, 4)``: acts on the (row bit, column bit) pair of rho."""
        k = self.kraus(scale)
        s = torch.einsum("kij,kab->iajb", k, k.conj()).reshape(4, 4)
        return s.to(dtype=dtype, device=device)

    def _kraus_values(self, q: float) -> list[list[list[complex]]]:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Depolarizing(Channel):
    """``rho -> (1 - p) rho + p I/2`` (``p = 1``: fully mixed). Kraus: ``sqrt(1-3p/4) I, sqrt(p/4) X, Y, Z``."""

    p: float

    def _kraus_values(self, q: float) -> list[list[list[complex]]]:
        a, b = math.sqrt(1 - 0.75 * q), math.sqrt(q / 4)
        return [[[a, 0], [0, a]], [[0, b], [b, 0]], [[0, -1j * b], [1j * b, 0]], [[b, 0], [0, -b]]]


@dataclass(frozen=True)
class AmplitudeDamping(Channel):
    """Energy relaxation: ``K0 = [[1, 0], [0, sqrt(1-gamma)]]``, ``K1 = [[0, sqrt(gamma)], [0, 0]]``."""

    gamma: float
    param: ClassVar[str] = "gamma"

    def _kraus_values(self, q: float) -> list[list[list[complex]]]:
        return [[[1, 0], [0, math.sqrt(1 - q)]], [[0, math.sqrt(q)], [0, 0]]]


@dataclass(frozen=True)
class BitFlip(Channel):
    """``rho -> (1 - p) rho + p X rho X``."""

    p: float

    def _kraus_values(self, q: float) -> list[list[list[complex]]]:
        a, b = math.sqrt(1 - q), math.sqrt(q)
        return [[[a, 0], [0, a]], [[0, b], [b, 0]]]


@dataclass(frozen=True)
class PhaseFlip(Channel):
    """``rho -> (1 - p) rho + p Z rho Z``: off-diagonals shrink by ``1 - 2p``."""

    p: float

    def _kraus_values(self, q: float) -> list[list[list[complex]]]:
        a, b = math.sqrt(1 - q), math.sqrt(q)
        return [[[a, 0], [0, a]], [[b, 0], [0, -b]]]


@dataclass(frozen=True)
class NoiseRule:
    """``channel`` follows every op whose gate is in ``gates`` (None: all), on its wires in ``wires`` (None: all)."""

    channel: Channel
    gates: frozenset[str] | None
    wires: frozenset[int] | None

    def wires_after(self, gate: Gate, op_wires: Sequence[int]) -> tuple[int, ...]:
        """The op's wires this rule's channel acts on (empty when the rule does not match)."""
        if self.gates is not None and gate.name not in self.gates:
            return ()
        return tuple(w for w in op_wires if self.wires is None or w in self.wires)


def _gate_names(gates: str | Gate | Iterable[str | Gate] | None) -> frozenset[str] | None:
    if gates is None:
        return None
    items = [gates] if isinstance(gates, (str, Gate)) else list(gates)
    if not items:
        raise ValueError("NoiseModel.add: gates=[] matches no gate; pass gates=None for every gate")
    return frozenset(get_gate(g).name for g in items)


def _wire_set(wires: int | Iterable[int] | None) -> frozenset[int] | None:
    if wires is None:
        return None
    items = [wires] if isinstance(wires, int) else list(wires)
    bad = [w for w in items if isinstance(w, bool) or not isinstance(w, int) or w < 0]
    if bad or not items:
        raise ValueError(
            f"NoiseModel.add: wires={wires!r} must be a non-empty list of wire indices >= 0 (or None for every wire)"
        )
    return frozenset(items)


class NoiseModel:
    """Which channels follow which gates, and one ``scale`` multiplying every probability.

    Channels are applied right after each matching op, in the order the rules were added, each on
    every one of the op's wires that the rule allows (see the module docstring for two-qubit gates).

    Args:
        scale: multiplies every channel's probability (zero-noise extrapolation knob). Every scaled
            probability must stay in ``[0, 1]``.
    """

    def __init__(self, scale: float = 1.0) -> None:
        self.rules: list[NoiseRule] = []
        self._scale = _check_scale(scale)

    @property
    def scale(self) -> float:
        return self._scale

    @scale.setter
    def scale(self, value: float) -> None:
        s = _check_scale(value)
        for rule in self.rules:
            rule.channel.scaled_probability(s)
        self._scale = s

    def add(self, channel: Channel, gates: str | Gate | Iterable[str | Gate] | None = None,
            wires: int | Iterable[int] | None = None) -> NoiseModel:
        """Put ``channel`` after every op of ``gates`` (names; None: all gates) on ``wires`` (None: all).

        Returns ``self`` for chaining.

        Example:
            >>> NoiseModel().add(BitFlip(0.1), gates="cx", wires=[0]).rules[0].gates
            frozenset({'cnot'})
        """
        if not isinstance(channel, Channel):
            raise ValueError(
                f"NoiseModel.add: channel={channel!r} is not a noise channel; use Depolarizing, "
                "AmplitudeDamping, BitFlip or PhaseFlip from qtrain.sim.noise"
            )
        channel.scaled_probability(self._scale)
        self.rules.append(NoiseRule(channel, _gate_names(gates), _wire_set(wires)))
        return self

    def with_scale(self, scale: float) -> NoiseModel:
        """A copy with the same rules and a new ``scale``."""
        out = NoiseModel()
        out.rules = list(self.rules)
        out.scale = scale
        return out

    def after(self, gate: Gate, wires: Sequence[int]) -> list[tuple[Channel, int]]:
        """``(channel, wire)`` pairs to apply after ``gate`` on ``wires``, in application order."""
        return [(r.channel, w) for r in self.rules for w in r.wires_after(gate, wires)]

    def max_wire(self) -> int:
        """Largest wire named by a rule (-1 when no rule restricts wires)."""
        return max((max(r.wires) for r in self.rules if r.wires is not None), default=-1)

    def __repr__(self) -> str:
        return f"NoiseModel(rules={len(self.rules)}, scale={self._scale:g})"
