"""The program layer: fixed two-qubit runs as affine maps over GF(2), checked against dense unitaries."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from reference import embed

from qtrain.sim import Circuit, ansatz
from qtrain.sim.affine import AffineMap
from qtrain.sim.engines import native_available
from qtrain.sim.program import GateRef, LayerStage, MonomialStage, compile_program

CPU = torch.device("cpu")


def _run_unitary(c: Circuit) -> np.ndarray:
    u = np.eye(2**c.n_qubits, dtype=complex)
    for op in c.ops:
        u = embed(op.gate.matrix(None).to(torch.complex128).numpy(), op.wires, c.n_qubits) @ u
    return u


@pytest.mark.parametrize("seed", range(20))
def test_fixed_two_qubit_runs_are_one_affine_map_with_phases(seed: int) -> None:
    """out[k] = phases[k] * in[src(k)] equals the product of the gates' dense unitaries."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 7))
    c = Circuit(n)
    for _ in range(int(rng.integers(1, 12))):
        a, b = (int(w) for w in rng.choice(n, 2, replace=False))
        c.add(str(rng.choice(["cnot", "cz", "swap"])), (a, b))
    (stage,) = compile_program(c).stages
    assert isinstance(stage, MonomialStage)
    u = _run_unitary(c)
    src = stage.index_tensor(CPU).numpy()
    assert np.count_nonzero(np.abs(u) > 1e-12) == 2**n  # a monomial matrix
    ph = stage.phase_tensor(torch.complex128, CPU)
    expected_ph = u[np.arange(2**n), src]
    np.testing.assert_allclose(np.ones(2**n) if ph is None else ph.numpy(), expected_ph, atol=1e-12)
    assert stage.phased == any(op.gate.name == "cz" for op in c.ops)
    inv = stage.inverse_tensor(CPU).numpy()
    np.testing.assert_array_equal(src[inv], np.arange(2**n))


def test_affine_map_inverse_and_index_by_doubling() -> None:
    m = AffineMap(3, 0b101, (0b011, 0b110, 0b100))  # src(k) = 5 ^ A k
    brute = [5 ^ (0b011 if k & 1 else 0) ^ (0b110 if k & 2 else 0) ^ (0b100 if k & 4 else 0) for k in range(8)]
    assert m.index_tensor().tolist() == brute == [m(k) for k in range(8)]
    inv = m.inverse()
    assert [inv(m(k)) for k in range(8)] == list(range(8))
    assert AffineMap.identity(4).index_tensor().tolist() == list(range(16))


@pytest.mark.skipif(not native_available(), reason="compares with the native analysis of an index")
def test_linear_plans_equal_the_native_analysis_of_the_index() -> None:
    from qtrain.sim import _native

    c = ansatz.ry_cnot(9, 1, circular=True).swap(2, 7).cnot(8, 3).x(4)
    for st in compile_program(c).stages:
        if isinstance(st, MonomialStage):
            analysed = _native.perm_plan(st.index_tensor(CPU))
            assert analysed.linear and (analysed.const, analysed.cols) == (st.src.const, st.src.cols)
            inv = analysed.inverse()
            assert (inv.const, inv.cols) == (st.src.inverse().const, st.src.inverse().cols)


def test_gate_list_keeps_circuit_order_with_table_rows() -> None:
    c = Circuit(3).ry(0, 0).cnot(0, 1).crx(1, 2, 1).rz(2, 2).cz(2, 0)
    prog = compile_program(c)
    assert [(r.op.gate.name, r.per_sample, r.row) for r in prog.gates] == [
        ("ry", False, 0), ("cnot", False, -1), ("crx", False, 0), ("rz", False, 1), ("cz", False, -1)]
    assert all(isinstance(r, GateRef) for r in prog.gates)
    assert [type(s).__name__ for s in prog.stages] == ["LayerStage", "MonomialStage", "DenseStage", "LayerStage",
                                                        "MonomialStage"]
    assert prog.has_dense and isinstance(prog.stages[0], LayerStage)
