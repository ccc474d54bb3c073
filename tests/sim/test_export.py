"""OpenQASM 3 / Qiskit export: exact text, every gate, a parse-back round trip, errors, and (with
the `peers` extra) Qiskit statevectors on seeded random circuits."""
from __future__ import annotations

import re
import sys

import numpy as np
import pytest
import torch
from helpers import random_circuit_all_gates as random_circuit

from qtrain.sim import GATES, Circuit, Gate, Input, get_gate
from qtrain.sim.export import DEFINITIONS, bind_parameters, to_qasm3, to_qiskit

C128 = torch.complex128


pytestmark = pytest.mark.usefixtures("single_thread")
HEADER = (
    'OPENQASM 3.0;\n'
    'include "stdgates.inc";\n'
    "// qtrain wire w is q[w]. qtrain's qubit 0 is the most significant bit of basis-state indices; "
    "Qiskit reads q[0] as the least significant bit.\n"
)


def test_qasm_text_exact() -> None:
    c = Circuit(3).h(0).ry(1, 0).cnot(0, 1).rzz(1, 2, 1).rx(2, Input(0, 0.5)).cu3(0, 2, 2, 3, 0.25).rzz(0, 1, 1)
    text = to_qasm3(c, torch.tensor([0.5, -1.25, 2.0, 0.125], dtype=torch.float64), np.array([0.75]))
    assert text == HEADER + (
        "gate rzz(theta) a, b { cx a, b; rz(theta) b; cx a, b; }\n"
        "gate cu3(p0, p1, p2) a, b { cu(p0, p1, p2, 0) a, b; }\n"
        "qubit[3] q;\n"
        "h q[0];\n"
        "ry(0.5) q[1];\n"
        "cx q[0], q[1];\n"
        "rzz(-1.25) q[1], q[2];\n"
        "rx(0.375) q[2];\n"
        "cu3(2.0, 0.125, 0.25) q[0], q[2];\n"
        "rzz(-1.25) q[0], q[1];\n"
    )
    measured = to_qasm3(Circuit(2).x(1), measure=True)
    assert measured == HEADER + "qubit[2] q;\nx q[1];\nbit[2] c;\nc = measure q;\n"


@pytest.mark.parametrize("name", sorted(GATES))
def test_every_gate_exports(name: str) -> None:
    g = GATES[name]
    wires = (2,) if g.n_wires == 1 else (2, 0)
    c = Circuit(3).add(g, wires, range(g.n_params)).add(g, wires, range(g.n_params))
    text = to_qasm3(c, [0.5, -0.25, 1.5])
    args = "" if not g.n_params else "(" + ", ".join(["0.5", "-0.25", "1.5"][: g.n_params]) + ")"
    line = f"{g.qasm}{args} {', '.join(f'q[{w}]' for w in wires)};"
    assert text.splitlines()[-2:] == [line, line]
    defs = [ln for ln in text.splitlines() if ln.startswith("gate ")]
    assert defs == ([DEFINITIONS[g.qasm]] if g.qasm in DEFINITIONS else [])


_LINE = re.compile(r"^(\w+)(?:\(([^)]*)\))? (q\[\d+\](?:, q\[\d+\])*);$")


def _parse(text: str) -> Circuit:
    """Tiny reader for the exported subset: one gate call per line, gate definitions ignored."""
    lines = text.splitlines()
    n = int(next(ln for ln in lines if ln.startswith("qubit[")).split("[")[1].split("]")[0])
    c = Circuit(n)
    for ln in lines[lines.index(f"qubit[{n}] q;") + 1:]:
        m = _LINE.match(ln)
        assert m, ln
        params = [float(v) for v in m.group(2).split(", ")] if m.group(2) else []
        c.add(get_gate(m.group(1)), [int(v) for v in re.findall(r"q\[(\d+)\]", m.group(3))], params)
    return c


@pytest.mark.parametrize("seed", range(10))
def test_qasm_round_trip_state(seed: int) -> None:
    """Values and wires survive the text exactly: the parsed circuit gives the same state."""
    rng = np.random.default_rng(seed)
    c = random_circuit(rng, 1 + seed % 5, 15, n_inputs=2)
    w = torch.tensor(rng.normal(size=c.n_params) * 2, dtype=torch.float64)
    x = torch.tensor(rng.normal(size=2), dtype=torch.float64)
    back = _parse(to_qasm3(c, w, x))
    assert [(op.gate, op.wires) for op in back.ops] == [(op.gate, op.wires) for op in c.ops]
    want = c.compile(dtype=C128).state(w, x[None])
    torch.testing.assert_close(back.compile(dtype=C128).state(), want, atol=1e-12, rtol=0)


def test_bind_parameters_values() -> None:
    c = Circuit(2).rx(0, Input(1, 2.0)).u3(1, 1, 0.5, 0)
    bound = bind_parameters(c, torch.tensor([0.25, -1.0], requires_grad=True), [0.0, 0.75])
    assert [vals for _, vals in bound] == [(1.5,), (-1.0, 0.5, 0.25)]


def test_export_errors() -> None:
    c = Circuit(2).ry(0, 0).rx(1, Input(0)).ry(1, 1)
    odd = Gate("odd", 1, 0, GATES["x"].matrix, True, qasm="odd")
    cases = [
        (lambda: to_qasm3(c), r"the circuit has 2 unbound weight\(s\) but got weights=None"),
        (lambda: to_qasm3(c, [0.1], [0.2]), r"has 2 unbound weight\(s\) but got weights of shape \(1,\)"),
        (lambda: to_qasm3(c, [0.1, 0.2]), r"reads 1 per-sample input\(s\) but got inputs=None"),
        (lambda: to_qasm3(c, [0.1, 0.2], [[0.2]]), r"inputs must be 1-D \(one sample\), got shape \(1, 1\)"),
        (lambda: to_qasm3(c, [[0.1, 0.2]], [0.2]), r"weights must be 1-D \(one sample\), got shape \(1, 2\)"),
        (lambda: to_qasm3(c, [0.1, float("nan")], [0.2]), r"parameter 1 of gate 'ry' on wires \(1,\) is nan"),
        (lambda: to_qasm3(Circuit(1).add(odd, 0)), r"gate 'odd' \(qasm name 'odd'\) has no OpenQASM 3 mapping"),
    ]
    for make, match in cases:
        with pytest.raises(ValueError, match=match):
            make()


def test_to_qiskit_without_qiskit_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "qiskit", None)
    with pytest.raises(ImportError, match=r'needed for circuit export .* pip install "qtrain\[peers\]"'):
        to_qiskit(Circuit(1).h(0))


# -- against Qiskit (optional `peers` extra) --------------------------------------------------
def _qiskit_cases() -> list[tuple[Circuit, torch.Tensor, torch.Tensor]]:
    cases = []
    for seed in range(50):
        rng = np.random.default_rng(1000 + seed)
        c = random_circuit(rng, 1 + seed % 8, 20, n_inputs=2)
        w = torch.tensor(rng.normal(size=c.n_params) * 2, dtype=torch.float64)
        cases.append((c, w, torch.tensor(rng.normal(size=2), dtype=torch.float64)))
    return cases


@pytest.mark.peers
def test_qiskit_statevector_matches() -> None:
    pytest.importorskip("qiskit")
    from qiskit.quantum_info import Statevector

    for c, w, x in _qiskit_cases():
        sv = Statevector(to_qiskit(c, w, x)).reverse_qargs().data  # Qiskit's q[0] is least significant
        want = c.compile(dtype=C128).state(w, x[None]).reshape(-1).numpy()
        np.testing.assert_allclose(sv, want, atol=1e-10, rtol=0)  # global phase included


@pytest.mark.peers
def test_qiskit_qasm3_loads_matches() -> None:
    pytest.importorskip("qiskit_qasm3_import")
    import qiskit.qasm3
    from qiskit.quantum_info import Statevector

    for c, w, x in _qiskit_cases()[:20]:
        sv = Statevector(qiskit.qasm3.loads(to_qasm3(c, w, x))).reverse_qargs().data
        want = c.compile(dtype=C128).state(w, x[None]).reshape(-1).numpy()
        np.testing.assert_allclose(sv, want, atol=1e-10, rtol=0)
