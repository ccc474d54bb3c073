"""The V2X hybrid layers: 4-qubit feature layer (vqc / DeepQuantum QCNN), quantum convolution, quantum attention."""
from __future__ import annotations

import math

import pytest
import torch

from qtrain.hybrid.attention import QuantumCrossAttention, attention_circuit
from qtrain.hybrid.quanv import Quanv2d, QuantumFeatureLayer, feature_circuit
from qtrain.models.v2x import BilinearCrossAttention, DenseFeatures, PatchFeatures2d


def _dense_expval_z(circuit, weights: torch.Tensor, x: torch.Tensor, wires: list[int]) -> torch.Tensor:
    """<Z> from the float64 reference statevector (complex128 run of the same circuit)."""
    cc = circuit.compile(diff_method="backprop", dtype=torch.complex128)
    return cc.expval(weights.double(), wires, x.double())


def test_feature_circuit_layouts_and_parameter_counts() -> None:
    c, wires = feature_circuit(4, "vqc", 2)
    assert (c.n_params, c.n_inputs, wires) == (16, 4, [0, 1, 2, 3])
    c, wires = feature_circuit(4, "qcnn", 1)
    assert (c.n_params, wires) == (18, [0, 2])  # 6 init U3 + 9 conv + 3 pool
    c, wires = feature_circuit(4, "qcnn", 2)
    assert (c.n_params, wires) == (30, [0])
    names = [op.gate.name for op in feature_circuit(4, "qcnn", 1)[0].ops]
    assert names.count("rxx") == 3 and names.count("cu3") == 2  # pairs (0,1), (2,3), (1,2); pool 2 pairs


def test_feature_layer_matches_the_reference_and_passes_gradients() -> None:
    torch.manual_seed(0)
    for layout, layers in (("vqc", 2), ("qcnn", 1)):
        layer = QuantumFeatureLayer(4, layout, layers).double()
        x = torch.rand(6, 4, dtype=torch.float64, requires_grad=True)
        out = layer(x)
        ref = _dense_expval_z(layer._desc, layer.weight.detach(), x.detach() * 1.0, layer.readout_wires)
        torch.testing.assert_close(out.detach(), ref, rtol=1e-9, atol=1e-9)
        out.sum().backward()
        assert float(layer.weight.grad.abs().sum()) > 0 and float(x.grad.abs().sum()) > 0
    layer = QuantumFeatureLayer(4, "vqc", 1).double()
    x = torch.rand(3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda w, a: torch.func.functional_call(layer, {"weight": w}, (a,)),
                                    (layer.weight.detach().clone().requires_grad_(), x))


def test_quanv_reads_patches_in_order() -> None:
    torch.manual_seed(1)
    layer = QuantumFeatureLayer(4, "vqc", 2)
    img = torch.rand(2, 1, 8, 8)
    out = Quanv2d(layer)(img)
    assert out.shape == (2, 4, 4, 4)
    patch = img[1, 0, 2:4, 6:8].reshape(4)  # patch (row 1, col 3): pixels (2,6),(2,7),(3,6),(3,7)
    torch.testing.assert_close(out[1, :, 1, 3], layer(patch))
    twin = PatchFeatures2d(4, 2)
    assert sum(p.numel() for p in twin.parameters()) == layer.n_quantum_params == 16
    assert sum(p.numel() for p in DenseFeatures(4, 4).parameters()) == 16


def test_quantum_attention_counts_and_gradients() -> None:
    torch.manual_seed(2)
    att = QuantumCrossAttention(d_model=8, n_qubits=4, layers=3)
    twin = BilinearCrossAttention(d_model=8, d_k=4)
    # q, k projections: 2 x 36; v, out: 2 x 72; + 16 (circuit 12 + readout 4, or the 4 x 4 bilinear matrix)
    assert sum(p.numel() for p in att.parameters()) == sum(p.numel() for p in twin.parameters()) == 232
    q, k = torch.randn(3, 5, 8), torch.randn(3, 7, 8)
    out, w = att(q, k)
    assert out.shape == (3, 5, 8) and w.shape == (3, 5, 7)
    torch.testing.assert_close(w.sum(-1), torch.ones(3, 5))
    out.square().mean().backward()
    for p in (att.weight, att.readout, att.q_proj.weight, att.k_proj.weight):
        assert p.grad is not None and float(p.grad.abs().sum()) > 0


def test_quantum_attention_score_is_the_circuit_expectation() -> None:
    torch.manual_seed(3)
    att = QuantumCrossAttention(d_model=6, n_qubits=3, layers=2).double()
    q, k = torch.randn(1, 2, 6, dtype=torch.float64), torch.randn(1, 3, 6, dtype=torch.float64)
    a = math.pi * torch.tanh(att.q_proj(q))[0, 1]
    p = math.pi * torch.tanh(att.k_proj(k))[0, 2]
    z = _dense_expval_z(attention_circuit(3, 2), att.weight.detach(), torch.cat([a, p])[None].detach(), [0, 1, 2])
    want = float(z[0] @ att.readout.detach())
    assert float(att.scores(q, k)[0, 1, 2]) == pytest.approx(want, abs=1e-9)


def test_layer_errors() -> None:
    with pytest.raises(ValueError, match=r"layout='mera' is not supported; use one of \['vqc', 'qcnn'\]"):
        QuantumFeatureLayer(4, "mera")
    with pytest.raises(ValueError, match=r"layers=3 is too many for n_qubits=4 with layout='qcnn'"):
        feature_circuit(4, "qcnn", 3)
    with pytest.raises(ValueError, match=r"QuantumFeatureLayer input has shape \(2, 3\); expected \(\.\.\., 4\)"):
        QuantumFeatureLayer(4)(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"Quanv2d needs a square number of qubits"):
        Quanv2d(QuantumFeatureLayer(6))
    with pytest.raises(ValueError, match=r"context has shape \(2, 3, 5\); expected \(B, T, 8\)"):
        QuantumCrossAttention(8)(torch.zeros(2, 3, 8), torch.zeros(2, 3, 5))
