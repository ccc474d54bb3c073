"""Gates as data: a name, a wire count, a parameter count and a matrix function.

A gate's ``matrix`` maps parameters of shape ``(..., n_params)`` to matrices of shape
``(..., 2**k, 2**k)`` (fixed gates ignore their argument and return ``(2**k, 2**k)``). Matrices
act on the gate's wires in the order given, first wire most significant, so
``CNOT(control, target)`` is ``[[1,0,0,0],[0,1,0,0],[0,0,0,1],[0,0,1,0]]``.

``real`` marks gates whose matrix is real for real parameters: a circuit made only of them runs
on a real statevector. ``shift_rules`` give, per parameter, the parameter-shift recipe
``((coefficient, shift), ...)`` with ``df/dtheta = sum(c * f(theta + s))``.

Every matrix function is a module-level function or a :func:`functools.partial` of one, so gates,
circuits and the models holding them pickle (``torch.save`` of a whole model); a registered gate
unpickles as the shared singleton of :data:`GATES`.
"""
from __future__ import annotations

import enum
import functools
import math
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor

__all__ = ["Gate", "GateKind", "GATES", "get_gate", "TWO_TERM", "FOUR_TERM"]

# Frequency-1 parameters (generator eigenvalues +-1/2, or {0, 1}): the classic two-term rule.
TWO_TERM: tuple[tuple[float, float], ...] = ((0.5, math.pi / 2), (-0.5, -math.pi / 2))
# Controlled rotations have frequencies {1/2, 1}: the four-term rule of Anselmetti et al. (2021).
_D1 = (math.sqrt(2) + 1) / (4 * math.sqrt(2))
_D2 = (math.sqrt(2) - 1) / (4 * math.sqrt(2))
FOUR_TERM: tuple[tuple[float, float], ...] = (
    (_D1, math.pi / 2),
    (-_D1, -math.pi / 2),
    (-_D2, 3 * math.pi / 2),
    (_D2, -3 * math.pi / 2),
)


class GateKind(enum.Enum):
    """How the executor applies a gate; chosen per gate, never by comparing names."""

    DENSE = "dense"
    MONOMIAL = "monomial"  # fixed: a permutation of basis states times phases (X, CNOT, CZ, SWAP...)


@dataclass(frozen=True, eq=False)
class Gate:
    """A gate type. Instances are shared singletons in :data:`GATES`."""

    name: str
    n_wires: int
    n_params: int
    matrix: Callable[[Tensor], Tensor]
    real: bool
    kind: GateKind = GateKind.DENSE
    shift_rules: tuple[tuple[tuple[float, float], ...], ...] = ()
    qasm: str = ""
    controlled: bool = False  # matrix is diag(I, U): only its lower-right 2x2 block depends on parameters

    @property
    def dim(self) -> int:
        return 2**self.n_wires

    def __repr__(self) -> str:
        return f"Gate({self.name})"

    def __reduce__(self) -> str | tuple[Any, ...]:
        # a registered gate pickles by name and unpickles as the same singleton (gates compare by identity)
        if GATES.get(self.name) is self:
            return (get_gate, (self.name,))
        return super().__reduce__()


def _c(x: Tensor) -> Tensor:
    return x.to(torch.complex128 if x.dtype == torch.float64 else torch.complex64)


def _stack(rows: list[list[Tensor]]) -> Tensor:
    return torch.stack([torch.stack(r, dim=-1) for r in rows], dim=-2)


def _constant(mat: Tensor, _: Tensor | None = None) -> Tensor:
    return mat


def _fixed(rows: list[list[complex]]) -> Callable[[Tensor], Tensor]:
    is_real = all(complex(v).imag == 0 for r in rows for v in r)
    dtype = torch.float64 if is_real else torch.complex128
    values = [[complex(v).real if is_real else complex(v) for v in r] for r in rows]
    return functools.partial(_constant, torch.tensor(values, dtype=dtype))


def _rx(p: Tensor) -> Tensor:
    t = p[..., 0] / 2
    c, s = _c(torch.cos(t)), _c(torch.sin(t))
    return _stack([[c, -1j * s], [-1j * s, c]])


def _ry(p: Tensor) -> Tensor:
    t = p[..., 0] / 2
    c, s = torch.cos(t), torch.sin(t)
    return _stack([[c, -s], [s, c]])


def _rz(p: Tensor) -> Tensor:
    t = _c(p[..., 0] / 2)
    z = torch.zeros_like(t)
    return _stack([[torch.exp(-1j * t), z], [z, torch.exp(1j * t)]])


def _phase(p: Tensor) -> Tensor:
    t = _c(p[..., 0])
    one, z = torch.ones_like(t), torch.zeros_like(t)
    return _stack([[one, z], [z, torch.exp(1j * t)]])


def _u3(p: Tensor) -> Tensor:
    # QET paper eq. (1); equals Qiskit's / TorchQuantum's U3:
    # [[cos, -e^{i la} sin], [e^{i ph} sin, e^{i (ph + la)} cos]] of theta / 2, built in one go.
    th, ph, la = p.unbind(-1)
    c, s = torch.cos(th / 2), torch.sin(th / 2)
    mags = torch.stack([c, s, s, c], dim=-1)
    angles = torch.stack([torch.zeros_like(ph), la + math.pi, ph, ph + la], dim=-1)
    # not torch.polar: its backward assumes a non-negative modulus, and cos/sin here change sign
    return torch.complex(mags * torch.cos(angles), mags * torch.sin(angles)).reshape(*p.shape[:-1], 2, 2)


def _controlled_matrix(one_qubit: Callable[[Tensor], Tensor], p: Tensor) -> Tensor:
    u = one_qubit(p)
    top = torch.tensor([1.0, 1.0, 0.0, 0.0], dtype=u.dtype, device=u.device).diag()
    return torch.nn.functional.pad(u, (2, 0, 2, 0)) + top  # diag(I, U)


def _controlled(one_qubit: Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    return functools.partial(_controlled_matrix, one_qubit)


_PX = torch.tensor([[0, 1], [1, 0]], dtype=torch.complex128)
_PY = torch.tensor([[0, -1j], [1j, 0]], dtype=torch.complex128)
_PZ = torch.tensor([[1, 0], [0, -1]], dtype=torch.complex128)


def _pauli_pair_matrix(pp: Tensor, p: Tensor) -> Tensor:
    t = _c(p[..., 0] / 2)[..., None, None]
    eye = torch.eye(4, dtype=t.dtype, device=t.device)
    return torch.cos(t) * eye - 1j * torch.sin(t) * pp.to(t.dtype).to(t.device)


def _pauli_pair_rotation(pauli: Tensor) -> Callable[[Tensor], Tensor]:
    return functools.partial(_pauli_pair_matrix, torch.kron(pauli, pauli))


def _rzz(p: Tensor) -> Tensor:
    t = _c(p[..., 0] / 2)
    m, q = torch.exp(-1j * t), torch.exp(1j * t)
    return torch.diag_embed(torch.stack([m, q, q, m], dim=-1))


_S2 = 1 / math.sqrt(2)


def _build() -> dict[str, Gate]:
    g: list[Gate] = [
        Gate("i", 1, 0, _fixed([[1, 0], [0, 1]]), True, qasm="id"),
        Gate("x", 1, 0, _fixed([[0, 1], [1, 0]]), True, qasm="x"),
        Gate("y", 1, 0, _fixed([[0, -1j], [1j, 0]]), False, qasm="y"),
        Gate("z", 1, 0, _fixed([[1, 0], [0, -1]]), True, qasm="z"),
        Gate("h", 1, 0, _fixed([[_S2, _S2], [_S2, -_S2]]), True, qasm="h"),
        Gate("s", 1, 0, _fixed([[1, 0], [0, 1j]]), False, qasm="s"),
        Gate("t", 1, 0, _fixed([[1, 0], [0, complex(_S2, _S2)]]), False, qasm="t"),
        Gate("sx", 1, 0, _fixed([[0.5 + 0.5j, 0.5 - 0.5j], [0.5 - 0.5j, 0.5 + 0.5j]]), False, qasm="sx"),
        Gate("rx", 1, 1, _rx, False, shift_rules=(TWO_TERM,), qasm="rx"),
        Gate("ry", 1, 1, _ry, True, shift_rules=(TWO_TERM,), qasm="ry"),
        Gate("rz", 1, 1, _rz, False, shift_rules=(TWO_TERM,), qasm="rz"),
        Gate("phase", 1, 1, _phase, False, shift_rules=(TWO_TERM,), qasm="p"),
        Gate("u3", 1, 3, _u3, False, shift_rules=(TWO_TERM,) * 3, qasm="u3"),
        Gate("cnot", 2, 0, _fixed([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]]), True,
             kind=GateKind.MONOMIAL, qasm="cx"),
        Gate("cz", 2, 0, _fixed([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, -1]]), True,
             kind=GateKind.MONOMIAL, qasm="cz"),
        Gate("swap", 2, 0, _fixed([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]]), True,
             kind=GateKind.MONOMIAL, qasm="swap"),
        Gate("crx", 2, 1, _controlled(_rx), False, shift_rules=(FOUR_TERM,), qasm="crx",
             controlled=True),
        Gate("cry", 2, 1, _controlled(_ry), True, shift_rules=(FOUR_TERM,), qasm="cry",
             controlled=True),
        Gate("crz", 2, 1, _controlled(_rz), False, shift_rules=(FOUR_TERM,), qasm="crz",
             controlled=True),
        # theta is a controlled Ry (four-term); phi and lambda are controlled phases (two-term).
        Gate("cu3", 2, 3, _controlled(_u3), False, shift_rules=(FOUR_TERM, TWO_TERM, TWO_TERM),
             qasm="cu3", controlled=True),
        Gate("rxx", 2, 1, _pauli_pair_rotation(_PX), False, shift_rules=(TWO_TERM,), qasm="rxx"),
        Gate("ryy", 2, 1, _pauli_pair_rotation(_PY), False, shift_rules=(TWO_TERM,), qasm="ryy"),
        Gate("rzz", 2, 1, _rzz, False, shift_rules=(TWO_TERM,), qasm="rzz"),
    ]
    return {gate.name: gate for gate in g}


GATES: dict[str, Gate] = _build()
_ALIASES = {"cx": "cnot", "p": "phase", "id": "i", "u": "u3", "cu": "cu3"}


def get_gate(name: str | Gate) -> Gate:
    """Look a gate up by name (case-insensitive; ``cx``, ``p``, ``u`` are aliases).

    Raises:
        ValueError: for an unknown name, listing the valid ones.

    Example:
        >>> get_gate("CX").name
        'cnot'
    """
    if isinstance(name, Gate):
        return name
    key = str(name).lower()
    key = _ALIASES.get(key, key)
    if key not in GATES:
        raise ValueError(
            f"unknown gate {name!r}; valid gates are {sorted(GATES)} (aliases {sorted(_ALIASES)})"
        )
    return GATES[key]
