"""Circuit descriptions: a builder of ops (gate, wires, parameter sources). No trainable state.

A parameter of an op is fed by one of (see :mod:`qtrain.sim.ops`, where ``Input`` and ``Op`` live):

* an ``int`` ``i``: trainable weight ``weights[i]``, shared by every sample;
* :class:`Input` ``(j)``: per-sample data ``inputs[:, j]`` (angle encoding), times ``scale``;
* a ``float``: a constant.

Example:
    >>> from qtrain.sim import Circuit, Input
    >>> c = Circuit(2).ry(0, Input(0)).ry(1, 0).cnot(0, 1)
    >>> c.n_params, c.n_inputs
    (1, 1)
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Sequence

from qtrain.sim.compiled import CompiledCircuit
from qtrain.sim.gates import Gate, get_gate
from qtrain.sim.ops import Input, Op, ParamSource, check_source

if TYPE_CHECKING:
    import torch

__all__ = ["Circuit", "Input", "Op", "ParamSource"]


class Circuit:
    """An ordered list of ops on ``n_qubits`` wires (qubit 0 is the most significant bit)."""

    def __init__(self, n_qubits: int) -> None:
        if not isinstance(n_qubits, int) or n_qubits < 1:
            raise ValueError(f"n_qubits={n_qubits!r} must be a positive integer")
        self.n_qubits = n_qubits
        self.ops: list[Op] = []

    # -- building -------------------------------------------------------------------------
    def add(self, gate: str | Gate, wires: int | Sequence[int], params: Iterable[object] = ()) -> Circuit:
        """Append ``gate`` on ``wires`` fed by ``params``; returns ``self`` for chaining."""
        g = get_gate(gate)
        ws = (wires,) if isinstance(wires, int) else tuple(wires)
        if len(ws) != g.n_wires:
            raise ValueError(f"gate {g.name!r} acts on {g.n_wires} wire(s), got wires={ws}")
        for w in ws:
            if not isinstance(w, int) or not 0 <= w < self.n_qubits:
                raise ValueError(
                    f"wire {w!r} of gate {g.name!r} is out of range for a {self.n_qubits}-qubit "
                    f"circuit; wires must be integers in 0..{self.n_qubits - 1}"
                )
        if len(set(ws)) != len(ws):
            raise ValueError(f"gate {g.name!r} needs distinct wires, got {ws}")
        ps = tuple(check_source(p, g) for p in params)
        if len(ps) != g.n_params:
            raise ValueError(f"gate {g.name!r} takes {g.n_params} parameter(s), got {len(ps)}")
        self.ops.append(Op(g, ws, ps))
        return self

    def extend(self, other: Circuit) -> Circuit:
        """Append all ops of ``other`` (same or fewer qubits)."""
        if other.n_qubits > self.n_qubits:
            raise ValueError(f"cannot extend a {self.n_qubits}-qubit circuit with {other.n_qubits} qubits")
        self.ops.extend(other.ops)
        return self

    def su4(self, w0: int, w1: int, params: Sequence[ParamSource]) -> Circuit:
        """General two-qubit unitary from 15 parameters (Hur et al. ``U_SU4``; QCNN convolution).

        U3 on both wires, CNOT(w0, w1), Ry(w0) Rz(w1), CNOT(w1, w0), Ry(w0), CNOT(w0, w1),
        U3 on both wires: the standard three-CNOT decomposition reaching all of SU(4).
        """
        if len(params) != 15:
            raise ValueError(f"su4 takes 15 parameters, got {len(params)}")
        p = list(params)
        self.u3(w0, *p[0:3]).u3(w1, *p[3:6]).cnot(w0, w1)
        self.ry(w0, p[6]).rz(w1, p[7]).cnot(w1, w0).ry(w0, p[8]).cnot(w0, w1)
        return self.u3(w0, *p[9:12]).u3(w1, *p[12:15])

    # -- properties -------------------------------------------------------------------------
    @property
    def n_params(self) -> int:
        """Number of trainable weights (one past the largest weight index used)."""
        idx = [p for op in self.ops for p in op.params if isinstance(p, int)]
        return max(idx) + 1 if idx else 0

    @property
    def n_inputs(self) -> int:
        """Number of per-sample input features the circuit reads."""
        idx = [p.index for op in self.ops for p in op.params if isinstance(p, Input)]
        return max(idx) + 1 if idx else 0

    @property
    def is_real(self) -> bool:
        """True when every gate is real, so the statevector can stay real."""
        return all(op.gate.real for op in self.ops)

    def __len__(self) -> int:
        return len(self.ops)

    def __repr__(self) -> str:
        return f"Circuit(n_qubits={self.n_qubits}, ops={len(self.ops)}, n_params={self.n_params})"

    # -- running ----------------------------------------------------------------------------
    def compile(
        self,
        *,
        dtype: torch.dtype | None = None,
        diff_method: str = "adjoint",
        device: torch.device | str | None = None,
        engine: str = "auto",
    ) -> CompiledCircuit:
        """Compile for repeated evaluation (see :class:`qtrain.sim.CompiledCircuit`)."""
        return CompiledCircuit(self, dtype=dtype, diff_method=diff_method, device=device, engine=engine)


def _make_method(name: str) -> None:
    gate = get_gate(name)

    def method(self: Circuit, *args: object) -> Circuit:
        wires, params = args[: gate.n_wires], args[gate.n_wires :]
        if len(args) != gate.n_wires + gate.n_params:
            raise ValueError(
                f"{name}() takes {gate.n_wires} wire(s) and {gate.n_params} parameter(s), got {len(args)} arguments"
            )
        return self.add(gate, wires, params)  # type: ignore[arg-type]

    method.__name__ = name
    method.__doc__ = f"Append {name.upper()} ({gate.n_wires} wire(s), {gate.n_params} parameter(s))."
    setattr(Circuit, name, method)


for _name in ("i", "x", "y", "z", "h", "s", "t", "sx", "rx", "ry", "rz", "phase", "u3", "cnot",
              "cz", "swap", "crx", "cry", "crz", "cu3", "rxx", "ryy", "rzz"):
    _make_method(_name)
