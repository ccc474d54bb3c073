"""Density-matrix simulation and noise channels: against the statevector executor, a dense Kraus
reference, closed-form channel results, finite differences, and every error path."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import random_circuit_all_gates as random_circuit
from reference import embed

from qtrain.sim import Circuit, Input
from qtrain.sim.density import MAX_DENSITY_QUBITS, DensityMatrixCircuit
from qtrain.sim.noise import AmplitudeDamping, BitFlip, Channel, Depolarizing, NoiseModel, PhaseFlip

C128 = torch.complex128


pytestmark = pytest.mark.usefixtures("single_thread")


def weights_inputs(rng: np.random.Generator, c: Circuit, batch: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    w = torch.tensor(rng.normal(size=c.n_params) * 2, dtype=torch.float64)
    x = torch.tensor(rng.normal(size=(batch, c.n_inputs)), dtype=torch.float64) if c.n_inputs else None
    return w, x


def full_noise(scale: float = 1.0, factor: float = 1.0) -> NoiseModel:
    nm = NoiseModel(scale=scale)
    nm.add(Depolarizing(0.05 * factor), gates=["cnot", "cu3", "rzz"])
    nm.add(AmplitudeDamping(0.04 * factor))
    nm.add(BitFlip(0.03 * factor), wires=[1])
    return nm.add(PhaseFlip(0.06 * factor), gates=["ry", "rx", "h"], wires=[0, 2])


# -- noiseless: equal to the statevector executor -------------------------------------------
ZERO_NOISE = (NoiseModel().add(Depolarizing(0.0)).add(AmplitudeDamping(0.0)).add(BitFlip(0.0))
              .add(PhaseFlip(0.0)))


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("noise", [None, ZERO_NOISE], ids=["none", "zero_probability"])
def test_noiseless_equals_statevector(seed: int, noise: NoiseModel | None) -> None:
    rng = np.random.default_rng(seed)
    n = 1 + seed % 4
    c = random_circuit(rng, n, 8, n_inputs=2)
    w, x = weights_inputs(rng, c, batch=3)
    cc = c.compile(dtype=C128)
    dm = DensityMatrixCircuit(c, noise, dtype=C128)
    torch.testing.assert_close(dm.probs(w, x), cc.probs(w, x), atol=1e-10, rtol=0)
    psi = cc.state(w, x).reshape(3, -1)
    torch.testing.assert_close(dm.density(w, x), psi[:, :, None] * psi[:, None, :].conj(), atol=1e-10, rtol=0)
    for obs in ("X", "Y", "Z"):
        torch.testing.assert_close(dm.expval(w, inputs=x, observable=obs), cc.expval(w, inputs=x, observable=obs),
                                   atol=1e-10, rtol=0)
    wires = list(range(n))[::-1][:2]
    torch.testing.assert_close(dm.marginal_probs(w, wires, x), cc.marginal_probs(w, wires, x), atol=1e-10, rtol=0)


# -- noisy: equal to an independent dense Kraus reference -------------------------------------
def _reference_noisy(c: Circuit, w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """rho per sample with full 2**n Kraus matrices; rules written out by hand (see full_noise)."""
    def kraus(name: str, q: float) -> list[np.ndarray]:
        i2, xm, ym, zm = np.eye(2), np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.diag([1, -1])
        if name == "dep":
            return [math.sqrt(1 - 0.75 * q) * i2] + [math.sqrt(q / 4) * m for m in (xm, ym, zm)]
        if name == "amp":
            return [np.array([[1, 0], [0, math.sqrt(1 - q)]]), np.array([[0, math.sqrt(q)], [0, 0]])]
        return [math.sqrt(1 - q) * i2, math.sqrt(q) * (xm if name == "bit" else zm)]

    rules = [("dep", 0.05, {"cnot", "cu3", "rzz"}, None), ("amp", 0.04, None, None),
             ("bit", 0.03, None, {1}), ("phase", 0.06, {"ry", "rx", "h"}, {0, 2})]
    n, out = c.n_qubits, []
    for s in range(x.shape[0]):
        rho = np.zeros((2**n, 2**n), dtype=complex)
        rho[0, 0] = 1
        for op in c.ops:
            vals = [p.scale * x[s, p.index] if isinstance(p, Input) else w[p] if isinstance(p, int) else p
                    for p in op.params]
            u = embed(op.gate.matrix(torch.tensor(vals, dtype=torch.float64)).to(C128).numpy(), op.wires, n)
            rho = u @ rho @ u.conj().T
            for name, q, gates, wires in rules:
                if gates is not None and op.gate.name not in gates:
                    continue
                for wire in op.wires:
                    if wires is None or wire in wires:
                        ks = [embed(k, (wire,), n) for k in kraus(name, q)]
                        rho = sum(k @ rho @ k.conj().T for k in ks)
        out.append(rho)
    return np.stack(out)


@pytest.mark.parametrize("seed", range(4))
def test_noisy_equals_dense_kraus_reference(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    c = random_circuit(rng, 3, 10, n_inputs=2)
    w, x = weights_inputs(rng, c, batch=2)
    got = DensityMatrixCircuit(c, full_noise(), dtype=C128).density(w, x)
    want = torch.from_numpy(_reference_noisy(c, w.numpy(), x.numpy()))
    torch.testing.assert_close(got, want, atol=1e-12, rtol=0)


def test_density_is_a_state_complex64() -> None:
    """Trace 1, Hermitian, positive semidefinite (default complex64)."""
    rng = np.random.default_rng(7)
    for n in (3, 4):  # full_noise names wires 0..2
        c = random_circuit(rng, n, 10, n_inputs=1)
        w, x = weights_inputs(rng, c, batch=2)
        rho = DensityMatrixCircuit(c, full_noise(scale=3.0)).density(w, x)
        assert rho.dtype == torch.complex64
        tr = rho.diagonal(dim1=1, dim2=2).sum(-1)
        torch.testing.assert_close(tr, torch.ones(2, dtype=torch.complex64), atol=1e-5, rtol=0)
        assert float((rho - rho.mH).abs().max()) < 1e-6
        assert float(torch.linalg.eigvalsh(rho.to(C128)).min()) >= -1e-6
        assert float(torch.linalg.eigvalsh(rho.to(C128)).min()) < 0.99  # noise really mixed it


# -- closed-form channel results ------------------------------------------------------------
def _one_qubit(prep: Circuit, channel: Channel, gates: str | list[str] | None = None,
               scale: float = 1.0) -> DensityMatrixCircuit:
    return DensityMatrixCircuit(prep, NoiseModel(scale=scale).add(channel, gates=gates), dtype=C128)


def test_depolarizing_p1_fully_mixes() -> None:
    """Convention rho -> (1 - p) rho + p I/2: p = 1 gives I/2 whatever the input."""
    dm = _one_qubit(Circuit(1).ry(0, 0.7).rz(0, 0.3), Depolarizing(1.0), gates="rz")
    assert abs(float(dm.expval()[0, 0])) < 1e-12
    torch.testing.assert_close(dm.density()[0], torch.eye(2, dtype=C128) / 2, atol=1e-12, rtol=0)
    for p in (0.1, 0.5):
        z = _one_qubit(Circuit(1).ry(0, 0.7), Depolarizing(p)).expval()[0, 0]
        assert abs(float(z) - (1 - p) * math.cos(0.7)) < 1e-12


def test_depolarizing_after_two_qubit_gate_acts_per_wire() -> None:
    """A channel after CNOT is the product D_p (x) D_p on control and target, not a 2-qubit channel."""
    p = 0.2
    c = Circuit(2).x(0).cnot(0, 1)
    rho = DensityMatrixCircuit(c, NoiseModel().add(Depolarizing(p), gates="cnot"), dtype=C128).density()[0]
    one = torch.tensor([[p / 2, 0], [0, 1 - p / 2]], dtype=C128)  # D_p(|1><1|)
    torch.testing.assert_close(rho, torch.kron(one, one), atol=1e-12, rtol=0)


def test_amplitude_damping() -> None:
    assert abs(float(_one_qubit(Circuit(1).x(0), AmplitudeDamping(1.0)).expval()[0, 0]) - 1.0) < 1e-12
    g = 0.3
    assert abs(float(_one_qubit(Circuit(1).x(0), AmplitudeDamping(g)).expval()[0, 0]) - (2 * g - 1)) < 1e-12
    xval = _one_qubit(Circuit(1).h(0), AmplitudeDamping(g)).expval(observable="X")[0, 0]
    assert abs(float(xval) - math.sqrt(1 - g)) < 1e-12


@pytest.mark.parametrize("p", [0.0, 0.1, 0.25, 0.8, 1.0])
def test_bit_flip_on_zero(p: float) -> None:
    z = _one_qubit(Circuit(1).i(0), BitFlip(p)).expval()[0, 0]
    assert abs(float(z) - (1 - 2 * p)) < 1e-12


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5])
def test_phase_flip_kills_x_keeps_z(p: float) -> None:
    dm = _one_qubit(Circuit(1).h(0), PhaseFlip(p))
    assert abs(float(dm.expval(observable="X")[0, 0]) - (1 - 2 * p)) < 1e-12
    torch.testing.assert_close(dm.probs()[0], torch.tensor([0.5, 0.5], dtype=torch.float64), atol=1e-12, rtol=0)
    # At the end of any circuit, phase flips leave every Z-basis probability unchanged.
    rng = np.random.default_rng(3)
    c = random_circuit(rng, 3, 10, n_inputs=1)
    for q in range(3):
        c.i(q)
    w, x = weights_inputs(rng, c, batch=2)
    noisy = DensityMatrixCircuit(c, NoiseModel().add(PhaseFlip(p), gates="i"), dtype=C128)
    torch.testing.assert_close(noisy.probs(w, x), c.compile(dtype=C128).probs(w, x), atol=1e-12, rtol=0)
    assert float((noisy.expval(w, inputs=x, observable="X")
                  - c.compile(dtype=C128).expval(w, inputs=x, observable="X")).abs().max()) > 1e-3


def test_scale_multiplies_every_probability() -> None:
    z2 = _one_qubit(Circuit(1).ry(0, 0.4), Depolarizing(0.1), scale=2.0).expval()[0, 0]
    zp = _one_qubit(Circuit(1).ry(0, 0.4), Depolarizing(0.2)).expval()[0, 0]
    assert abs(float(z2) - float(zp)) < 1e-12
    assert abs(float(z2) - 0.8 * math.cos(0.4)) < 1e-12
    rng = np.random.default_rng(11)
    c = random_circuit(rng, 3, 10, n_inputs=1)
    w, x = weights_inputs(rng, c, batch=2)
    scaled = DensityMatrixCircuit(c, full_noise(scale=3.0), dtype=C128).density(w, x)
    tripled = DensityMatrixCircuit(c, full_noise(factor=3.0), dtype=C128).density(w, x)
    torch.testing.assert_close(scaled, tripled, atol=1e-12, rtol=0)
    nm = full_noise()
    dm = DensityMatrixCircuit(c, nm, dtype=C128)
    nm.scale = 3.0  # read at every call
    torch.testing.assert_close(dm.density(w, x), tripled, atol=1e-12, rtol=0)
    assert full_noise().with_scale(3.0).scale == 3.0 and nm.with_scale(0.0).scale == 0.0


@pytest.mark.parametrize("channel", [Depolarizing(0.3), AmplitudeDamping(0.6), BitFlip(0.2), PhaseFlip(0.9)])
def test_kraus_completeness(channel: Channel) -> None:
    k = channel.kraus()
    torch.testing.assert_close(torch.einsum("kji,kjl->il", k.conj(), k), torch.eye(2, dtype=C128), atol=1e-14, rtol=0)
    assert channel.superop().shape == (4, 4)


# -- gradients ------------------------------------------------------------------------------
def test_autograd_matches_finite_differences() -> None:
    rng = np.random.default_rng(5)
    c = random_circuit(rng, 3, 8, n_inputs=2)
    w, x = weights_inputs(rng, c, batch=2)
    dm = DensityMatrixCircuit(c, full_noise(), dtype=C128)
    coef = torch.tensor(rng.normal(size=(2, 3)), dtype=torch.float64)
    coef_p = torch.tensor(rng.normal(size=(2, 8)), dtype=torch.float64)

    def loss(wv: torch.Tensor, xv: torch.Tensor) -> torch.Tensor:
        return (dm.expval(wv, inputs=xv, observable="X") * coef).sum() + (dm.probs(wv, xv) * coef_p).sum()

    wg, xg = w.clone().requires_grad_(), x.clone().requires_grad_()
    gw, gx = torch.autograd.grad(loss(wg, xg), (wg, xg))
    eps = 1e-6
    with torch.no_grad():
        for vec, grad, other in ((w, gw, "w"), (x.view(-1), gx.view(-1), "x")):
            fd = torch.zeros_like(grad)
            for i in range(vec.numel()):
                plus, minus = vec.clone(), vec.clone()
                plus[i] += eps
                minus[i] -= eps
                if other == "w":
                    fd[i] = (loss(plus, x) - loss(minus, x)) / (2 * eps)
                else:
                    fd[i] = (loss(w, plus.view_as(x)) - loss(w, minus.view_as(x))) / (2 * eps)
            torch.testing.assert_close(grad, fd, atol=1e-6, rtol=0)
    assert float(gw.abs().max()) > 1e-2


# -- shots ----------------------------------------------------------------------------------
def test_shots_estimate() -> None:
    c = Circuit(2).h(0).cnot(0, 1).ry(1, 0)
    dm = DensityMatrixCircuit(c, NoiseModel().add(BitFlip(0.1)), dtype=C128)
    w = torch.tensor([0.3], dtype=torch.float64)
    exact = dm.probs(w)
    est = dm.probs(w, shots=20000, generator=torch.Generator().manual_seed(0))
    again = dm.probs(w, shots=20000, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(est, again)
    assert float((est - exact).abs().max()) < 0.02
    assert abs(float(est.sum()) - 1.0) < 1e-12


# -- error paths ----------------------------------------------------------------------------
@pytest.mark.parametrize("make, match", [
    (lambda: Depolarizing(1.5), r"Depolarizing: p=1.5 is out of range; allowed 0 <= p <= 1"),
    (lambda: Depolarizing(-0.1), r"Depolarizing: p=-0.1 is out of range"),
    (lambda: AmplitudeDamping(2.0), r"AmplitudeDamping: gamma=2.0 is out of range; allowed 0 <= gamma <= 1"),
    (lambda: BitFlip(float("nan")), r"BitFlip: p=nan must be a finite real number"),
    (lambda: PhaseFlip("0.1"), r"PhaseFlip: p='0.1' must be a finite real number"),
    (lambda: BitFlip(True), r"BitFlip: p=True must be a finite real number"),
    (lambda: NoiseModel(scale=-1.0), r"scale=-1.0 must be >= 0"),
    (lambda: NoiseModel(scale=float("inf")), r"NoiseModel: scale=inf must be a finite real number"),
    (lambda: NoiseModel(scale=2.0).add(Depolarizing(0.6)),
     r"Depolarizing\(p=0.6\) with noise scale=2 gives p=1.2, outside the allowed range \[0, 1\]; use scale <= 1.66667"),
    (lambda: NoiseModel().add(AmplitudeDamping(0.5)).with_scale(4.0),
     r"AmplitudeDamping\(gamma=0.5\) with noise scale=4 gives gamma=2"),
    (lambda: NoiseModel().add(BitFlip(0.1), gates=["foo"]), r"unknown gate 'foo'"),
    (lambda: NoiseModel().add(BitFlip(0.1), gates=[]), r"gates=\[\] matches no gate"),
    (lambda: NoiseModel().add(BitFlip(0.1), wires=[-1]), r"wires=\[-1\] must be a non-empty list"),
    (lambda: NoiseModel().add(0.1), r"channel=0.1 is not a noise channel"),
])
def test_noise_errors(make, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()


def test_scale_setter_validates() -> None:
    nm = NoiseModel().add(PhaseFlip(0.4))
    with pytest.raises(ValueError, match=r"PhaseFlip\(p=0.4\) with noise scale=3 gives p=1.2"):
        nm.scale = 3.0
    assert nm.scale == 1.0


def test_density_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    c = Circuit(3).ry(0, 0).rx(1, Input(0)).cnot(0, 2)
    dm = DensityMatrixCircuit(c)
    w, x = torch.zeros(1), torch.zeros(2, 1)
    cases = [
        (lambda: DensityMatrixCircuit(Circuit(MAX_DENSITY_QUBITS + 1)), r"at most 14 qubits .* got a 15-qubit circuit"),
        (lambda: DensityMatrixCircuit(c, dtype=torch.int32), r"dtype=torch.int32 is not supported"),
        (lambda: DensityMatrixCircuit(c, noise="depolarizing"),
         r"noise='depolarizing' must be a qtrain.sim.noise.NoiseModel"),
        (lambda: DensityMatrixCircuit(c, NoiseModel().add(BitFlip(0.1), wires=[5])),
         r"noise model names wire 5 but the circuit has 3 qubit\(s\)"),
        (lambda: dm.probs(torch.zeros(2, 2), x), r"weights must be a 1-D tensor with at least 1 entries"),
        (lambda: dm.probs(w), r"reads 1 per-sample input\(s\); pass inputs of shape \(B, 1\)"),
        (lambda: dm.probs(w, torch.zeros(2)), r"inputs must have shape \(B, >=1\), got \(2,\)"),
        (lambda: dm.expval(w, inputs=x, observable="W"), r"observable='W' is not supported"),
        (lambda: dm.expval(w, wires=[3], inputs=x), r"wire 3 is out of range for a 3-qubit circuit"),
        (lambda: dm.marginal_probs(w, [0, 0], x), r"wires \(0, 0\) must be distinct"),
        (lambda: dm.probs(torch.zeros(1, requires_grad=True), x, shots=10),
         r"finite-shot estimates are not differentiable"),
        (lambda: dm.probs(w, x, shots=0), r"shots=0 must be a positive integer"),
    ]
    for make, match in cases:
        with pytest.raises(ValueError, match=match):
            make()
    monkeypatch.setenv("QTRAIN_MEMORY_LIMIT_GB", "1e-6")
    with pytest.raises(ValueError, match=r"a 6-qubit state in complex64 with batch 2 needs about"):
        dm.probs(w, x)
