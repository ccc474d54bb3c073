"""Simulator correctness: gates, random circuits vs a dense reference, gradients, shots, errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from reference import reference_state

from qtrain.sim import GATES, Circuit, DiffMethod, Engine, Input, ansatz, get_gate
from qtrain.sim.engines import native_available
from qtrain.sim.program import LayerStage, MonomialStage

S2 = 1 / math.sqrt(2)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]])
Z = np.diag([1.0, -1.0]).astype(complex)
I2 = np.eye(2, dtype=complex)


def _rot(p: np.ndarray, t: float) -> np.ndarray:
    return math.cos(t / 2) * np.eye(len(p)) - 1j * math.sin(t / 2) * p


def _ctrl(u: np.ndarray) -> np.ndarray:
    m = np.eye(4, dtype=complex)
    m[2:, 2:] = u
    return m


def _u3(t: float, f: float, lam: float) -> np.ndarray:
    c, s = math.cos(t / 2), math.sin(t / 2)
    return np.array([[c, -np.exp(1j * lam) * s], [np.exp(1j * f) * s, np.exp(1j * (f + lam)) * c]])


T = 0.731
TEXTBOOK = {
    "i": (I2, ()), "x": (X, ()), "y": (Y, ()), "z": (Z, ()),
    "h": (np.array([[S2, S2], [S2, -S2]]), ()),
    "s": (np.diag([1, 1j]), ()), "t": (np.diag([1, np.exp(1j * math.pi / 4)]), ()),
    "sx": (0.5 * np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]]), ()),
    "rx": (_rot(X, T), (T,)), "ry": (_rot(Y, T), (T,)), "rz": (_rot(Z, T), (T,)),
    "phase": (np.diag([1, np.exp(1j * T)]), (T,)),
    "u3": (_u3(T, 0.4, -1.1), (T, 0.4, -1.1)),
    "cnot": (np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]]), ()),
    "cz": (np.diag([1, 1, 1, -1]), ()),
    "swap": (np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]]), ()),
    "crx": (_ctrl(_rot(X, T)), (T,)), "cry": (_ctrl(_rot(Y, T)), (T,)), "crz": (_ctrl(_rot(Z, T)), (T,)),
    "cu3": (_ctrl(_u3(T, 0.4, -1.1)), (T, 0.4, -1.1)),
    "rxx": (_rot(np.kron(X, X), T), (T,)), "ryy": (_rot(np.kron(Y, Y), T), (T,)),
    "rzz": (_rot(np.kron(Z, Z), T), (T,)),
}


def test_every_gate_has_a_textbook_check() -> None:
    assert set(TEXTBOOK) == set(GATES)


@pytest.mark.parametrize("name", sorted(TEXTBOOK))
def test_gate_matrix_equals_textbook(name: str) -> None:
    expected, params = TEXTBOOK[name]
    got = get_gate(name).matrix(torch.tensor(params, dtype=torch.float64)).to(torch.complex128).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-12)
    gate = get_gate(name)
    assert gate.real == bool(np.all(np.abs(np.imag(expected)) < 1e-15)) or name in {"rx", "rz"}


def test_gate_matrices_batch_over_leading_dims() -> None:
    p = torch.rand(5, 3, 3, dtype=torch.float64)
    m = get_gate("u3").matrix(p)
    assert m.shape == (5, 3, 2, 2)
    torch.testing.assert_close(m[2, 1], get_gate("u3").matrix(p[2, 1]))


@pytest.mark.parametrize("name", sorted(n for n, g in GATES.items() if g.n_params))
def test_gate_matrix_gradients_pass_gradcheck_over_all_angles(name: str) -> None:
    """Angles across [-2pi, 2pi], where the half-angle cosines and sines change sign."""
    gate = get_gate(name)
    p = torch.linspace(-2 * math.pi, 2 * math.pi, 7 * gate.n_params, dtype=torch.float64)
    p = p.reshape(7, gate.n_params).requires_grad_()
    assert torch.autograd.gradcheck(lambda q: torch.view_as_real(gate.matrix(q).to(torch.complex128)), (p,))


ONEQ = ["i", "x", "y", "z", "h", "s", "t", "sx", "rx", "ry", "rz", "phase", "u3"]
TWOQ = ["cnot", "cz", "swap", "crx", "cry", "crz", "cu3", "rxx", "ryy", "rzz"]


def random_circuit(rng: np.random.Generator, n: int, n_ops: int, n_inputs: int = 2) -> Circuit:
    c = Circuit(n)
    names = ONEQ + (TWOQ if n > 1 else [])
    n_w = 0
    for _ in range(n_ops):
        g = get_gate(str(rng.choice(names)))
        wires = [int(w) for w in rng.choice(n, size=g.n_wires, replace=False)]
        params: list[object] = []
        for _ in range(g.n_params):
            kind = rng.integers(3)
            if kind == 0:
                params.append(n_w)
                n_w += 1
            elif kind == 1:
                params.append(Input(int(rng.integers(n_inputs)), float(rng.uniform(0.5, 1.5))))
            else:
                params.append(float(rng.uniform(-3, 3)))
        c.add(g, wires, params)
    return c


@pytest.mark.parametrize("engine", ["gates", "stages"])
@pytest.mark.parametrize("seed", range(60))
def test_random_circuit_matches_dense_reference(seed: int, engine: str) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 9))
    c = random_circuit(rng, n, int(rng.integers(1, 25)))
    w = rng.uniform(-math.pi, math.pi, max(c.n_params, 1))
    x = rng.uniform(-math.pi, math.pi, (3, 2))
    ref = reference_state(c, w, x if c.n_inputs else None)
    for dtype, tol in ((torch.complex128, 1e-10), (torch.complex64, 1e-5)):
        cc = c.compile(dtype=dtype, engine=engine)
        got = cc.state(torch.tensor(w), torch.tensor(x)).reshape(ref.shape[0], -1)
        np.testing.assert_allclose(got.numpy(), ref, atol=tol)
        p = cc.probs(torch.tensor(w), torch.tensor(x))
        torch.testing.assert_close(p.sum(1).double(), torch.ones(ref.shape[0], dtype=torch.float64),
                                   atol=tol * 10, rtol=0)


def test_real_circuits_run_on_a_real_statevector() -> None:
    c = ansatz.ry_cnot(5, 3, circular=True).h(2).cz(0, 4).x(1).z(3)
    cc = c.compile()
    assert cc.dtype == torch.float32
    assert ansatz.u3_cu3(3, 1).compile().dtype == torch.complex64
    assert c.compile(dtype=torch.float64).dtype == torch.float64
    w = np.random.default_rng(1).uniform(-3, 3, c.n_params)
    np.testing.assert_allclose(cc.state(torch.tensor(w)).reshape(1, -1).numpy(), reference_state(c, w), atol=1e-5)


def test_compile_fuses_layers_and_cnot_chains() -> None:
    cc = ansatz.ry_cnot(6, 4).compile()
    stages = cc.program.stages
    assert [type(s).__name__ for s in stages] == ["LayerStage", "MonomialStage"] * 4
    assert isinstance(stages[0], LayerStage) and stages[0].wires == tuple(range(6))
    assert isinstance(stages[1], MonomialStage) and stages[1] is stages[3]  # one shared permutation
    # the CNOT chain 0->1->...->5 is the prefix-XOR map of the basis bits
    k = torch.arange(64)
    bits = [(k >> (5 - q)) & 1 for q in range(6)]
    out = torch.zeros_like(k)
    acc = torch.zeros_like(k)
    for q in range(6):
        acc = acc ^ bits[q]
        out = out | (acc << (5 - q))
    assert torch.equal(stages[1].index_tensor(torch.device("cpu"))[out], k)
    c = Circuit(2).rx(0, 0).ry(0, 1).rz(0, 2).h(1)
    st = c.compile().program.stages
    assert len(st) == 1 and st[0].index.shape == (3, 2)  # three gates on wire 0 fused into one matrix


def _loss(p: torch.Tensor) -> torch.Tensor:
    wvec = torch.linspace(-1, 1, p.shape[-1], dtype=p.dtype)
    return (p * wvec).sum() + (p[..., :3] ** 2).sum()


@pytest.mark.parametrize("engine", ["gates", "stages"])
@pytest.mark.parametrize("seed", range(12))
def test_gradient_methods_agree_with_finite_differences(seed: int, engine: str) -> None:
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(1, 6))
    c = random_circuit(rng, n, int(rng.integers(2, 16)))
    w0 = torch.tensor(rng.uniform(-3, 3, max(c.n_params, 1)))
    x0 = torch.tensor(rng.uniform(-3, 3, (2, 2)))
    grads = {}
    for dm in DiffMethod:
        cc = c.compile(dtype=torch.complex128, diff_method=dm, engine=engine)
        w, x = w0.clone().requires_grad_(), x0.clone().requires_grad_()
        _loss(cc.probs(w, x)).backward()
        grads[dm] = tuple(torch.zeros_like(t) if t.grad is None else t.grad.clone() for t in (w, x))
    cc = c.compile(dtype=torch.complex128, diff_method="backprop")
    eps = 1e-6
    fd_w = torch.zeros_like(w0)
    for i in range(c.n_params):
        e = torch.zeros_like(w0)
        e[i] = eps
        fd_w[i] = (_loss(cc.probs(w0 + e, x0)) - _loss(cc.probs(w0 - e, x0))) / (2 * eps)
    for dm in DiffMethod:
        torch.testing.assert_close(grads[dm][0], fd_w, atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(grads[dm][1], grads[DiffMethod.BACKPROP][1], atol=1e-8, rtol=1e-8)


@pytest.mark.parametrize("engine", ["gates", "stages"])
@pytest.mark.parametrize("dm", ["backprop", "adjoint", "parameter_shift"])
def test_gradcheck_float64(dm: str, engine: str) -> None:
    c = Circuit(3).ry(0, Input(0)).u3(1, 0, 1, 2).cnot(0, 1).crz(1, 2, 3).rxx(0, 2, Input(1, 0.7)).ry(2, 4)
    cc = c.compile(dtype=torch.complex128, diff_method=dm, engine=engine)
    w = torch.rand(5, dtype=torch.float64, requires_grad=True)
    x = torch.rand(2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda w, x: cc.expval(w, [0, 2], x), (w, x))
    real = ansatz.ry_cnot(4, 3).compile(dtype=torch.float64, diff_method=dm, engine=engine)
    w = torch.rand(12, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda w: real.probs(w), (w,))


@pytest.mark.parametrize("engine", ["gates", "stages"])
def test_adjoint_gradients_on_paper_ansatz_match_backprop(engine: str) -> None:
    for c in (ansatz.ry_cnot(9, 6), ansatz.u3_cu3(5, 4), ansatz.u3_cu3(10, 2, ring=True)):
        w0 = torch.rand(c.n_params, dtype=torch.float64) * 6 - 3
        g = []
        for dm in ("backprop", "adjoint"):
            w = w0.clone().requires_grad_()
            cc = c.compile(dtype=torch.float64, diff_method=dm, engine=engine)
            _loss(cc.probs(w)).backward()
            g.append(w.grad)
        torch.testing.assert_close(g[0], g[1], atol=1e-10, rtol=1e-10)


@pytest.mark.skipif(not native_available(), reason="engines other than stages need the native kernels")
def test_engine_is_chosen_per_circuit_and_batch() -> None:
    assert ansatz.u3_cu3(9, 2).compile().engine_for(512) is Engine.GATES  # dense CU3 stages, <= 14 qubits
    assert ansatz.u3_cu3(15, 1).compile().engine_for(1) is Engine.STAGES
    assert ansatz.ry_cnot(11, 2).compile().engine_for(1) is Engine.GATES  # 2**11 amplitudes: overhead dominates
    assert ansatz.ry_cnot(12, 2).compile().engine_for(1) is Engine.BLOCKS  # fused Ry layers + CNOT permutations
    assert ansatz.ry_cnot(8, 2).compile().engine_for(16) is Engine.BLOCKS
    qcml_like = Circuit(12).ry(0, Input(0)).extend(ansatz.ry_cnot(12, 2))
    assert qcml_like.compile().engine_for(64) is Engine.STAGES  # per-sample layer
    assert ansatz.u3_cu3(4, 1).compile(engine="stages").engine_for(1) is Engine.STAGES
    assert ansatz.ry_cnot(12, 1).compile(engine="gates").engine_for(64) is Engine.GATES
    with pytest.raises(ValueError, match="engine='blocks' runs circuits of shared single-qubit gates"):
        ansatz.u3_cu3(4, 1).compile(engine="blocks")
    with pytest.raises(ValueError, match=r"engine='fast' is not supported; use one of "
                                         r"\['auto', 'gates', 'blocks', 'stages', 'triton'\]"):
        ansatz.u3_cu3(4, 1).compile(engine="fast")


@pytest.mark.parametrize("engine", ["blocks", "stages", "gates"])
def test_real_layer_circuits_agree_across_engines(engine: str) -> None:
    """ry_cnot with a ring, repeated Ry on one wire (depth-2 layer), X/SWAP networks, float64."""
    c = ansatz.ry_cnot(7, 3, circular=True).ry(2, 0).ry(2, 1).swap(0, 6).x(3).cnot(5, 1).ry(4, 2)
    w0 = torch.rand(c.n_params, dtype=torch.float64) * 6 - 3
    ref = reference_state(c, w0.numpy())
    w = w0.clone().requires_grad_()
    cc = c.compile(dtype=torch.float64, engine=engine)
    np.testing.assert_allclose(cc.state(w).reshape(1, -1).detach().numpy(), ref, atol=1e-12)
    _loss(cc.probs(w)).backward()
    wb = w0.clone().requires_grad_()
    _loss(c.compile(dtype=torch.float64, diff_method="backprop").probs(wb)).backward()
    torch.testing.assert_close(w.grad, wb.grad, atol=1e-10, rtol=1e-10)


def test_gate_program_per_sample_batch_gradients_match_backprop() -> None:
    """Per-sample inputs (B = 37, threads split the batch) and shared weights in one program."""
    c = Circuit(6)
    for q in range(6):
        c.ry(q, Input(q)).rz(q, Input(q, 0.5))
    c = c.extend(ansatz.u3_cu3(6, 2))
    for q in range(5):
        c.crx(q, q + 1, q).rzz(q, (q + 1) % 6, 5 + q)
    x0 = torch.rand(37, 6, dtype=torch.float64) * 3
    w0 = torch.rand(c.n_params, dtype=torch.float64) * 3
    out = []
    for dm in ("backprop", "adjoint"):
        w, x = w0.clone().requires_grad_(), x0.clone().requires_grad_()
        cc = c.compile(dtype=torch.float64, diff_method=dm)
        _loss(cc.expval(w, inputs=x)).backward()
        out.append((w.grad, x.grad))
    assert c.compile().engine_for(37) is (Engine.GATES if native_available() else Engine.STAGES)
    torch.testing.assert_close(out[0][0], out[1][0], atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(out[0][1], out[1][1], atol=1e-10, rtol=1e-10)


def test_marginals_and_expvals() -> None:
    c = Circuit(3).h(0).cnot(0, 1).rx(2, 0)
    cc = c.compile(dtype=torch.complex128)
    w = torch.tensor([1.1], dtype=torch.float64)
    torch.testing.assert_close(cc.marginal_probs(w, [1, 0]), torch.tensor([[0.5, 0, 0, 0.5]], dtype=torch.float64))
    pz = cc.expval(w, observable="Z")
    torch.testing.assert_close(pz, torch.tensor([[0, 0, math.cos(1.1)]], dtype=torch.float64))
    py = cc.expval(w, [2], observable="Y")
    torch.testing.assert_close(py, torch.tensor([[-math.sin(1.1)]], dtype=torch.float64))
    px = Circuit(1).h(0).compile().expval(None, observable="X")
    torch.testing.assert_close(px, torch.tensor([[1.0]]))
    m = cc.marginal_probs(w, [2])
    torch.testing.assert_close(m, torch.tensor([[math.cos(0.55) ** 2, math.sin(0.55) ** 2]], dtype=torch.float64))


def test_shot_estimates_converge_at_inverse_sqrt_rate() -> None:
    c = ansatz.ry_cnot(4, 2)
    cc = c.compile(dtype=torch.float64)
    w = torch.linspace(-2, 2, c.n_params, dtype=torch.float64)
    exact = cc.probs(w)
    gen = torch.Generator().manual_seed(1234)
    errs = {}
    for shots in (100, 10_000, 1_000_000):
        trials = torch.stack([cc.probs(w, shots=shots, generator=gen) for _ in range(40)])
        assert torch.allclose(trials.sum(-1), torch.ones_like(trials.sum(-1)))
        errs[shots] = (trials - exact).pow(2).sum(-1).mean().sqrt().item()
    # RMS error * sqrt(shots) equals sqrt(1 - sum p^2) in expectation; allow 25% statistical slack.
    expected = math.sqrt(1 - float((exact**2).sum()))
    for shots, e in errs.items():
        assert abs(e * math.sqrt(shots) / expected - 1) < 0.25, (shots, e)


def test_shots_with_parameter_shift_give_unbiased_gradients() -> None:
    c = Circuit(1).ry(0, 0)
    cc = c.compile(dtype=torch.float64, diff_method="parameter_shift")
    gen = torch.Generator().manual_seed(7)
    grads = []
    for _ in range(50):
        w = torch.tensor([0.9], dtype=torch.float64, requires_grad=True)
        cc.expval(w, shots=4000, generator=gen).sum().backward()
        grads.append(w.grad.item())
    # d<Z>/dθ = -sin θ; the mean of 50 estimates has std ~ 1/sqrt(4000*50) ≈ 0.002
    assert abs(np.mean(grads) + math.sin(0.9)) < 0.01


def test_samples_have_the_right_distribution_and_shape() -> None:
    cc = Circuit(2).x(0).h(1).compile()
    bits = cc.sample(None, 2000, generator=torch.Generator().manual_seed(0))
    assert bits.shape == (1, 2000, 2)
    assert bool((bits[..., 0] == 1).all())
    assert abs(bits[..., 1].float().mean().item() - 0.5) < 0.05


def test_bad_input_raises_clear_errors() -> None:
    with pytest.raises(ValueError, match="wire 3 of gate 'ry' is out of range for a 3-qubit circuit"):
        Circuit(3).ry(3, 0)
    with pytest.raises(ValueError, match="unknown gate 'foo'; valid gates are"):
        Circuit(2).add("foo", 0)
    with pytest.raises(ValueError, match="gate 'cnot' needs distinct wires"):
        Circuit(2).cnot(1, 1)
    with pytest.raises(ValueError, match="gate 'u3' takes 3 parameter"):
        Circuit(2).add("u3", 0, [0])
    with pytest.raises(ValueError, match=r"diff_method='magic' is not supported; use one of \['backprop'"):
        Circuit(1).ry(0, 0).compile(diff_method="magic")
    cc = ansatz.ry_cnot(3, 2).compile()
    with pytest.raises(ValueError, match=r"weights must be a 1-D tensor with at least 6 entries .* got shape \(5,\)"):
        cc.probs(torch.zeros(5))
    with pytest.raises(ValueError, match=r"reads 1 per-sample input\(s\); pass inputs of shape \(B, 1\)"):
        Circuit(1).ry(0, Input(0)).compile().probs()
    with pytest.raises(ValueError, match=r"inputs must have shape \(B, >=2\), got \(4,\)"):
        Circuit(1).ry(0, Input(1)).compile().probs(None, torch.zeros(4))
    with pytest.raises(ValueError, match="observable='W' is not supported"):
        cc.expval(torch.zeros(6), observable="W")
    with pytest.raises(ValueError, match="shots=0 must be a positive integer"):
        cc.probs(torch.zeros(6), shots=0)
    with pytest.raises(ValueError, match="finite-shot estimates are not differentiable with diff_method='adjoint'"):
        cc.probs(torch.zeros(6, requires_grad=True), shots=10)
    with pytest.raises(ValueError, match="n_qubits=0 must be a positive integer"):
        Circuit(0)


def test_state_too_large_is_refused_before_allocating(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QTRAIN_MEMORY_LIMIT_GB", "1")
    cc = Circuit(30).h(0).compile()
    with pytest.raises(ValueError,
                       match=r"a 30-qubit state in float32 with batch 1 needs about 16.0 GiB .* only 1.0 GiB"):
        cc.probs()
