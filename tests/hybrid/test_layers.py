"""QuantumLayer (dense reference, batch dims, gradients), the QCML baseline's counts."""
from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from qtrain.hybrid import QCML, QCML_PARAMS, QuantumLayer, qcml_circuit
from qtrain.qt import count_parameters

torch.set_num_threads(1)

I2 = torch.eye(2, dtype=torch.complex128)
H = torch.tensor([[1, 1], [1, -1]], dtype=torch.complex128) / math.sqrt(2)
Z = torch.diag(torch.tensor([1, -1], dtype=torch.complex128))


def ry(t: float) -> torch.Tensor:
    c, s = math.cos(t / 2), math.sin(t / 2)
    return torch.tensor([[c, -s], [s, c]], dtype=torch.complex128)


def rz(t: float) -> torch.Tensor:
    return torch.diag(torch.tensor([complex(math.cos(-t / 2), math.sin(-t / 2)),
                                    complex(math.cos(t / 2), math.sin(t / 2))], dtype=torch.complex128))


def on(n: int, q: int, g: torch.Tensor) -> torch.Tensor:
    out = torch.ones(1, 1, dtype=torch.complex128)
    for k in range(n):
        out = torch.kron(out, g if k == q else I2)
    return out


def cnot(n: int, a: int, t: int) -> torch.Tensor:
    m = torch.zeros(2**n, 2**n, dtype=torch.complex128)
    for k in range(2**n):
        bits = [(k >> (n - 1 - q)) & 1 for q in range(n)]
        if bits[a]:
            bits[t] ^= 1
        m[sum(b << (n - 1 - q) for q, b in enumerate(bits)), k] = 1
    return m


def dense_expz(n: int, blocks: int, w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """<Z_q> of H, Ry(x_q), Rz(x_q), then blocks x (CNOT ring, Ry(w)), by dense matrices."""
    psi = torch.zeros(2**n, dtype=torch.complex128)
    psi[0] = 1
    for q in range(n):
        psi = on(n, q, rz(float(x[q]))) @ on(n, q, ry(float(x[q]))) @ on(n, q, H) @ psi
    pairs = [(q, q + 1) for q in range(n - 1)] + ([(n - 1, 0)] if n > 2 else [])
    for b in range(blocks):
        for a, t in pairs:
            psi = cnot(n, a, t) @ psi
        for q in range(n):
            psi = on(n, q, ry(float(w[b * n + q]))) @ psi
    return torch.stack([(psi.conj() @ on(n, q, Z) @ psi).real for q in range(n)])


def test_layer_matches_dense_reference() -> None:
    torch.manual_seed(0)
    layer = QuantumLayer(3, blocks=2).double()
    x = torch.randn(4, 3, dtype=torch.float64)
    got = layer(x)
    want = torch.stack([dense_expz(3, 2, layer.weight.detach(), xi) for xi in x])
    torch.testing.assert_close(got, want, rtol=0, atol=1e-10)


def test_layer_accepts_any_leading_batch_dims() -> None:
    torch.manual_seed(1)
    layer = QuantumLayer(4, blocks=2)
    x = torch.randn(2, 3, 5, 4)
    out = layer(x)
    assert out.shape == (2, 3, 5, 4) and out.dtype == torch.float32
    torch.testing.assert_close(out.reshape(-1, 4), layer(x.reshape(-1, 4)), rtol=0, atol=1e-6)
    torch.testing.assert_close(layer(x[0, 0, 0]), out[0, 0, 0], rtol=0, atol=1e-6)  # no batch dim at all
    assert layer(torch.zeros(0, 4)).shape == (0, 4)


@pytest.mark.parametrize("diff_method", ["adjoint", "backprop", "parameter_shift"])
def test_layer_gradient_matches_finite_differences(diff_method: str) -> None:
    torch.manual_seed(2)
    layer = QuantumLayer(3, blocks=2, diff_method=diff_method).double()
    x = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    c = torch.randn(2, 3, dtype=torch.float64)
    (layer(x) * c).sum().backward()
    eps = 1e-6

    def f() -> float:
        with torch.no_grad():
            return float((layer(x) * c).sum())

    for t, g in ((layer.weight, layer.weight.grad), (x, x.grad)):
        fd = torch.zeros_like(t)
        flat = t.data.view(-1)
        for i in range(flat.numel()):
            flat[i] += eps
            up = f()
            flat[i] -= 2 * eps
            down = f()
            flat[i] += eps
            fd.view(-1)[i] = (up - down) / (2 * eps)
        torch.testing.assert_close(g, fd, rtol=0, atol=1e-7)


def test_layer_is_an_ordinary_module() -> None:
    layer = QuantumLayer(13, blocks=13)
    assert list(layer.state_dict()) == ["weight"] and layer.weight.shape == (169,)
    assert float(layer.weight.detach().abs().max()) <= math.pi
    twin = copy.deepcopy(layer)
    x = torch.randn(2, 13)
    torch.testing.assert_close(twin(x), layer(x))
    assert qcml_circuit(13, 13).n_params == 169 and qcml_circuit(13, 13).n_inputs == 13


def test_layer_validates_at_construction_and_call() -> None:
    with pytest.raises(ValueError, match=r"^n_qubits=0 must be a positive integer$"):
        QuantumLayer(0)
    with pytest.raises(ValueError, match=r"^blocks='2' must be a positive integer$"):
        QuantumLayer(3, blocks="2")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^encoding='amp' is unknown; use one of \['h_ry_rz', 'ry'\]$"):
        QuantumLayer(3, encoding="amp")
    with pytest.raises(ValueError, match=r"^diff_method='adjont' is not supported; use one of"):
        QuantumLayer(3, diff_method="adjont")
    with pytest.raises(ValueError, match=r"^shots=100 needs diff_method='parameter_shift'"):
        QuantumLayer(3, shots=100)
    with pytest.raises(ValueError, match=r"QuantumLayer input has shape \(2, 5\); expected \(\.\.\., 3\)"):
        QuantumLayer(3)(torch.zeros(2, 5))


def test_layer_with_shots_estimates_expectations() -> None:
    torch.manual_seed(3)
    exact = QuantumLayer(3, blocks=1, diff_method="parameter_shift")
    noisy = QuantumLayer(3, blocks=1, diff_method="parameter_shift", shots=200_000)
    noisy.load_state_dict(exact.state_dict())
    x = torch.randn(2, 3)
    torch.testing.assert_close(noisy(x), exact(x), rtol=0, atol=0.01)


# ----------------------------------------------------------------------------- QCML
@pytest.mark.parametrize("family", ["mnist", "cifar10"])
def test_qcml_parameter_counts_match_the_paper(family: str) -> None:
    m = QCML(family)
    parts = [sum(p.numel() for p in mod.parameters()) for mod in (m.part1, m.qnn, m.part2)]
    assert (*parts, sum(parts)) == QCML_PARAMS[family]
    assert count_parameters(m).trainable == {"mnist": 5002, "cifar10": 146286}[family]


def test_qcml_forward_and_every_parameter_gets_a_gradient() -> None:
    torch.manual_seed(4)
    m = QCML("mnist", blocks=2)
    logits = m(torch.randn(3, 1, 28, 28))
    assert logits.shape == (3, 10)
    nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2])).backward()
    assert all(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in m.parameters())
    with pytest.raises(ValueError, match=r"^family='svhn' is unknown; use one of \['cifar10', 'mnist'\]"):
        QCML("svhn")
