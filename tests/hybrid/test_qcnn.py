"""QCNN layer (qtrain.hybrid.qcnn) and zero-noise extrapolation (qtrain.sim.mitigation)."""
from __future__ import annotations

import pytest
import torch

from qtrain.hybrid.qcnn import CONV_ANSATZE, QCNN, conv_layout, qcnn_circuit
from qtrain.sim import Circuit, DensityMatrixCircuit
from qtrain.sim.noise import Depolarizing, NoiseModel
from qtrain.sim.mitigation import extrapolate, richardson_weights, zne

torch.set_num_threads(1)


@pytest.mark.parametrize("conv", ["su4", "so4", "u15", "ttn", "u9"])
def test_shared_param_count_is_independent_of_layers(conv: str) -> None:
    n_conv = CONV_ANSATZE[conv][0]
    shared = [QCNN(16, conv, n_layers=L).n_quantum_params for L in (1, 2, 3, 4)]
    per_layer = [QCNN(16, conv, n_layers=L, shared=False).n_quantum_params for L in (1, 2, 3, 4)]
    assert shared == [n_conv + 2] * 4
    assert per_layer == [L * (n_conv + 2) for L in (1, 2, 3, 4)]


def test_paper_circuit_reads_wires_1_3_5_7_with_17_params() -> None:
    c, wires = qcnn_circuit(8, "su4", 1)
    assert (c.n_params, c.n_inputs, wires) == (17, 8, [1, 3, 5, 7])
    assert conv_layout(8, 3) == [[0, 1, 2, 3, 4, 5, 6, 7], [1, 3, 5, 7], [3, 7], [7]]
    with pytest.raises(ValueError, match=r"n_layers=4 is too many for n_qubits=8.*n_layers <= 3"):
        QCNN(8, n_layers=4)
    with pytest.raises(ValueError, match=r"n_qubits=7 must be an even integer"):
        QCNN(7)
    with pytest.raises(ValueError, match=r"conv='u99' is unknown"):
        QCNN(8, "u99")


def test_leading_batch_dims_match_flat_batch() -> None:
    torch.manual_seed(0)
    q = QCNN(6, "so4", n_layers=2)
    x = torch.randn(2, 3, 6)
    out = q(x)
    assert out.shape == (2, 3, 2)
    torch.testing.assert_close(out.reshape(6, 2), q(x.reshape(6, 6)))
    with pytest.raises(ValueError, match=r"expected \(\.\.\., 6\)"):
        q(torch.zeros(3, 5))


def test_parameter_shift_equals_backprop_float64() -> None:
    torch.manual_seed(1)
    grads = []
    x0 = torch.randn(3, 8, dtype=torch.float64)
    for method in ("backprop", "parameter_shift", "adjoint"):
        torch.manual_seed(2)
        q = QCNN(8, "su4", n_layers=2, diff_method=method).double()
        x = x0.clone().requires_grad_(True)
        (q(x) * torch.arange(1.0, 3.0, dtype=torch.float64)).sum().backward()
        grads.append((q.weight.grad.clone(), x.grad.clone()))
    for gw, gx in grads[1:]:
        torch.testing.assert_close(gw, grads[0][0], atol=1e-6, rtol=0)
        torch.testing.assert_close(gx, grads[0][1], atol=1e-6, rtol=0)


def test_noisy_qcnn_scale_zero_equals_noiseless() -> None:
    torch.manual_seed(3)
    clean, noisy = QCNN(4, "u15", noise=None).double(), QCNN(4, "u15", noise=0.05).double()
    noisy.load_state_dict(clean.state_dict())
    x = torch.randn(5, 4, dtype=torch.float64)
    torch.testing.assert_close(noisy(x, noise_scale=0.0), clean(x), atol=1e-12, rtol=0)
    gap = (noisy(x) - clean(x)).detach().abs().max()
    assert 1e-3 < float(gap) < 0.5


def _single_qubit(p: float) -> tuple[DensityMatrixCircuit, torch.Tensor, float]:
    c = Circuit(1).ry(0, 0).rz(0, 1).ry(0, 2)
    w = torch.tensor([0.3, 0.5, 0.2], dtype=torch.float64)
    ideal = float(DensityMatrixCircuit(c, None, dtype=torch.complex128).expval(w)[0, 0])
    return DensityMatrixCircuit(c, NoiseModel().add(Depolarizing(p)), dtype=torch.complex128), w, ideal


def test_zne_recovers_noiseless_single_qubit_value() -> None:
    dm, w, ideal = _single_qubit(0.01)

    def at(scale: float) -> torch.Tensor:
        dm.noise = dm.noise.with_scale(scale)
        return dm.expval(w)[0, 0]

    # Three depolarizing layers: <Z>(s) = (1 - p s)^3 <Z>_0 is a cubic in s, so Richardson on 3
    # points leaves only the p^3 term (6 p^3 |<Z>_0| ~ 5e-6) and a line leaves O(p^2).
    assert abs(float(at(1.0)) - ideal) > 2.5e-2
    assert abs(float(zne(at)) - ideal) < 1e-5
    assert abs(float(zne(at, method="linear")) - ideal) < 1e-3
    assert ideal == pytest.approx(0.8847697878, abs=1e-9)


def test_extrapolation_weights_and_errors() -> None:
    assert richardson_weights((1, 2, 3)) == [3.0, -3.0, 1.0]
    vals = torch.tensor([[0.9, 2.0], [0.8, 2.0], [0.7, 2.0]], dtype=torch.float64)
    torch.testing.assert_close(extrapolate((1, 2, 3), vals, "linear"), torch.tensor([1.0, 2.0], dtype=torch.float64))
    with pytest.raises(ValueError, match=r"method='cubic' is not supported"):
        extrapolate((1, 2), vals[:2], "cubic")
    with pytest.raises(ValueError, match=r"scales=\(1, 1\) must hold >= 2 distinct"):
        richardson_weights((1, 1))
    with pytest.raises(ValueError, match=r"expected \(3, \.\.\.\)"):
        extrapolate((1, 2, 3), vals[:2])
