"""Export a circuit with bound parameters to OpenQASM 3 text or a Qiskit ``QuantumCircuit``.

Wire ``w`` of a qtrain circuit becomes ``q[w]`` (Qiskit qubit ``w``). Bit order differs:
qtrain's qubit 0 is the **most** significant bit of basis-state indices, while Qiskit reads
``q[0]`` as the **least** significant, so a Qiskit ``Statevector`` equals qtrain's state with
the qubit axes reversed.

Gates missing from OpenQASM 3's ``stdgates.inc`` (``rxx``, ``ryy``, ``rzz``, ``cu3``) are written
once each as a ``gate`` definition built from stdgates gates; each definition is exact,
including the global phase.

Example:
    >>> from qtrain.sim import Circuit
    >>> print(to_qasm3(Circuit(2).h(0).cnot(0, 1)).splitlines()[-2:])
    ['h q[0];', 'cx q[0], q[1];']
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

import torch
from torch import Tensor

from qtrain._optional import require
from qtrain.sim.circuit import Circuit
from qtrain.sim.ops import Input, Op

if TYPE_CHECKING:
    import numpy as np

__all__ = ["to_qasm3", "to_qiskit", "bind_parameters", "QASM_ORDER_NOTE"]

QASM_ORDER_NOTE = (
    "// qtrain wire w is q[w]. qtrain's qubit 0 is the most significant bit of basis-state indices; "
    "Qiskit reads q[0] as the least significant bit."
)

# Gates of OpenQASM 3's stdgates.inc (including its OpenQASM 2 compatibility gates).
STDGATES = frozenset({
    "p", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "sx", "rx", "ry", "rz", "cx", "cy", "cz", "cp",
    "crx", "cry", "crz", "ch", "swap", "ccx", "cswap", "cu", "CX", "phase", "cphase", "id", "u1", "u2", "u3",
})

# Definitions for gates that stdgates.inc lacks, from stdgates gates only.
# rxx/ryy: conjugate ZZ by H (X = H Z H) or by Rx(pi/2) (Y = Rx(-pi/2) Z Rx(pi/2)), as Qiskit does.
# cu3's parameter names sort in declaration order on purpose: qiskit_qasm3_import (0.6) binds a gate
# definition's parameters in alphabetical order, which would swap (theta, phi, lam) to (lam, phi, theta).
DEFINITIONS = {
    "rzz": "gate rzz(theta) a, b { cx a, b; rz(theta) b; cx a, b; }",
    "rxx": "gate rxx(theta) a, b { h a; h b; cx a, b; rz(theta) b; cx a, b; h a; h b; }",
    "ryy": ("gate ryy(theta) a, b { rx(pi/2) a; rx(pi/2) b; cx a, b; rz(theta) b; cx a, b; "
            "rx(-pi/2) a; rx(-pi/2) b; }"),
    "cu3": "gate cu3(p0, p1, p2) a, b { cu(p0, p1, p2, 0) a, b; }",
}


def _values_1d(name: str, values: Any) -> Tensor:
    t = torch.as_tensor(values.detach() if isinstance(values, Tensor) else values).to("cpu", torch.float64)
    if t.dim() != 1:
        raise ValueError(f"{name} must be 1-D (one sample), got shape {tuple(t.shape)}")
    return t


def bind_parameters(circuit: Circuit, weights: Tensor | np.ndarray | Sequence[float] | None = None,
                    inputs: Tensor | np.ndarray | Sequence[float] | None = None) -> list[tuple[Op, tuple[float, ...]]]:
    """Each op with its numeric parameters for one sample: ``(op, (value, ...))``.

    Args:
        weights: ``(>= circuit.n_params,)`` trainable weights; required when ``n_params > 0``.
        inputs: ``(>= circuit.n_inputs,)`` one sample's inputs; required when the circuit reads any.

    Raises:
        ValueError: for missing or short weights/inputs, or a non-finite bound value.
    """
    w = None if weights is None else _values_1d("weights", weights)
    x = None if inputs is None else _values_1d("inputs", inputs)
    if circuit.n_params and (w is None or w.shape[0] < circuit.n_params):
        got = "weights=None" if w is None else f"weights of shape {tuple(w.shape)}"
        raise ValueError(
            f"the circuit has {circuit.n_params} unbound weight(s) but got {got}; pass weights with at "
            f"least {circuit.n_params} entries"
        )
    if circuit.n_inputs and (x is None or x.shape[0] < circuit.n_inputs):
        got = "inputs=None" if x is None else f"inputs of shape {tuple(x.shape)}"
        raise ValueError(
            f"the circuit reads {circuit.n_inputs} per-sample input(s) but got {got}; pass one sample's "
            f"inputs, a 1-D array of at least {circuit.n_inputs} values"
        )
    out = []
    for op in circuit.ops:
        vals = []
        for p in op.params:
            if isinstance(p, Input):
                v = p.scale * float(x[p.index])  # type: ignore[index]
            elif isinstance(p, int):
                v = float(w[p])  # type: ignore[index]
            else:
                v = float(p)
            if not math.isfinite(v):
                raise ValueError(f"parameter {p!r} of gate {op.gate.name!r} on wires {op.wires} is {v}; "
                                 "exported parameters must be finite")
            vals.append(v)
        out.append((op, tuple(vals)))
    return out


def _qasm_name(op: Op) -> str:
    name = op.gate.qasm
    if name not in STDGATES and name not in DEFINITIONS:
        raise ValueError(
            f"gate {op.gate.name!r} (qasm name {name!r}) has no OpenQASM 3 mapping; it is not in stdgates.inc "
            "and qtrain.sim.export.DEFINITIONS has no definition for it"
        )
    return name


def to_qasm3(circuit: Circuit, weights: Tensor | np.ndarray | Sequence[float] | None = None,
             inputs: Tensor | np.ndarray | Sequence[float] | None = None, *, measure: bool = False) -> str:
    """OpenQASM 3 text of ``circuit`` with every parameter bound to a number.

    Args:
        circuit: the description.
        weights: ``(>= n_params,)`` values of the trainable weights.
        inputs: one sample's per-sample inputs, 1-D (``Input(j, scale)`` becomes ``scale * inputs[j]``).
        measure: append ``bit[n] c; c = measure q;``.

    Returns:
        The program text, ending in a newline. Floats are written with ``repr`` (round-trip exact).

    Example:
        >>> from qtrain.sim import Circuit
        >>> to_qasm3(Circuit(1).ry(0, 0), [0.5]).splitlines()[-1]
        'ry(0.5) q[0];'
    """
    bound = bind_parameters(circuit, weights, inputs)
    names = [_qasm_name(op) for op, _ in bound]
    lines = ['OPENQASM 3.0;', 'include "stdgates.inc";', QASM_ORDER_NOTE]
    lines += [DEFINITIONS[d] for d in dict.fromkeys(names) if d in DEFINITIONS]
    lines.append(f"qubit[{circuit.n_qubits}] q;")
    for (op, vals), name in zip(bound, names):
        args = f"({', '.join(repr(v) for v in vals)})" if vals else ""
        lines.append(f"{name}{args} {', '.join(f'q[{w}]' for w in op.wires)};")
    if measure:
        lines += [f"bit[{circuit.n_qubits}] c;", "c = measure q;"]
    return "\n".join(lines) + "\n"


# qtrain qasm name -> (qiskit.circuit.library class, extra trailing parameters)
_QISKIT = {
    "id": ("IGate", ()), "x": ("XGate", ()), "y": ("YGate", ()), "z": ("ZGate", ()), "h": ("HGate", ()),
    "s": ("SGate", ()), "t": ("TGate", ()), "sx": ("SXGate", ()), "rx": ("RXGate", ()), "ry": ("RYGate", ()),
    "rz": ("RZGate", ()), "p": ("PhaseGate", ()), "u3": ("UGate", ()), "cx": ("CXGate", ()),
    "cz": ("CZGate", ()), "swap": ("SwapGate", ()), "crx": ("CRXGate", ()), "cry": ("CRYGate", ()),
    "crz": ("CRZGate", ()), "cu3": ("CUGate", (0.0,)), "rxx": ("RXXGate", ()), "ryy": ("RYYGate", ()),
    "rzz": ("RZZGate", ()),
}


def to_qiskit(circuit: Circuit, weights: Tensor | np.ndarray | Sequence[float] | None = None,
              inputs: Tensor | np.ndarray | Sequence[float] | None = None) -> Any:
    """A ``qiskit.QuantumCircuit`` of ``circuit`` with bound parameters (needs ``qtrain[peers]``).

    qtrain wire ``w`` is Qiskit qubit ``w``; U3 maps to ``UGate`` and CU3 to ``CUGate(theta, phi,
    lambda, 0)``, both with identical matrices (global phase included). Reverse the qubit order to
    compare states: ``Statevector(qc).reverse_qargs().data == state.reshape(-1)``.

    Raises:
        ImportError: when qiskit is missing, naming the ``peers`` extra.
        ValueError: as :func:`bind_parameters`, or for a gate without a Qiskit mapping.
    """
    require("qiskit", "peers", "circuit export")
    from qiskit import QuantumCircuit
    from qiskit.circuit import library

    bound = bind_parameters(circuit, weights, inputs)
    qc = QuantumCircuit(circuit.n_qubits)
    for op, vals in bound:
        if op.gate.qasm not in _QISKIT:
            raise ValueError(f"gate {op.gate.name!r} has no Qiskit mapping in qtrain.sim.export")
        cls, extra = _QISKIT[op.gate.qasm]
        qc.append(getattr(library, cls)(*vals, *extra), list(op.wires))
    return qc
