"""CircuitLayer: closed forms, agreement with the simulator, training inside nn.Sequential, errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import random_circuit_all_gates
from torch import nn

from qtrain.hybrid import CircuitLayer
from qtrain.sim import BitFlip, Circuit, DensityMatrixCircuit, Input, NoiseModel

torch.set_num_threads(1)


def one_qubit() -> Circuit:
    """Ry(x) then Ry(w): <Z> = cos(x + w), <X> = sin(x + w)."""
    return Circuit(1).ry(0, Input(0)).ry(0, 0)


def test_closed_forms_of_expval_probs_and_input_scaling() -> None:
    x = torch.tensor([[0.3], [1.1], [-2.0]], dtype=torch.float64)
    layer = CircuitLayer(one_qubit(), input_scaling=True).double()
    with torch.no_grad():
        layer.weight.fill_(0.4)
        layer.input_scale.fill_(1.5)
    angle = 1.5 * x + 0.4
    torch.testing.assert_close(layer(x), torch.cos(angle))
    x_layer = CircuitLayer(one_qubit(), observable="X").double()
    with torch.no_grad():
        x_layer.weight.fill_(0.4)
    torch.testing.assert_close(x_layer(x), torch.sin(x + 0.4))
    probs = CircuitLayer(one_qubit(), output="probs").double()
    with torch.no_grad():
        probs.weight.fill_(0.4)
    torch.testing.assert_close(probs(x), torch.cat([torch.cos((x + 0.4) / 2) ** 2, torch.sin((x + 0.4) / 2) ** 2], 1))
    layer(x).sum().backward()  # d/ds cos(s x + w) = -x sin(s x + w), d/dw = -sin(s x + w)
    torch.testing.assert_close(layer.input_scale.grad, (-x * torch.sin(angle)).sum(0))
    torch.testing.assert_close(layer.weight.grad, -torch.sin(angle).sum(0))


def test_matches_the_compiled_simulator_on_a_random_circuit_with_batch_dims() -> None:
    rng = np.random.default_rng(7)
    circuit = random_circuit_all_gates(rng, 3, 12, n_inputs=3)
    torch.manual_seed(0)
    layer = CircuitLayer(circuit, wires=[2, 0]).double()
    x = torch.randn(4, 5, 3, dtype=torch.float64)
    ref = circuit.compile(dtype=torch.float64).expval(layer.weight.detach(), [2, 0], x.reshape(-1, 3))
    torch.testing.assert_close(layer(x), ref.reshape(4, 5, 2))
    probs = CircuitLayer(circuit, output="probs", wires=[1, 2]).double()
    with torch.no_grad():
        probs.weight.copy_(layer.weight)
    ref_p = circuit.compile(dtype=torch.float64).marginal_probs(layer.weight.detach(), [1, 2], x.reshape(-1, 3))
    torch.testing.assert_close(probs(x), ref_p.reshape(4, 5, 4))
    assert probs(x).sum(-1).sub(1).abs().max() < 1e-12


def test_gradients_agree_across_diff_methods() -> None:
    rng = np.random.default_rng(3)
    circuit = Circuit(3).ry(0, Input(0)).rx(1, Input(1, 0.5)).extend(
        random_circuit_all_gates(rng, 3, 8, n_inputs=2, every_gate=False))
    x = torch.randn(6, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    grads = []
    for method in ("backprop", "adjoint", "parameter_shift"):
        torch.manual_seed(0)
        layer = CircuitLayer(circuit, diff_method=method, input_scaling=True).double()
        (layer(x) ** 2).sum().backward()
        grads.append(torch.cat([layer.weight.grad, layer.input_scale.grad]))
    torch.testing.assert_close(grads[1], grads[0])
    torch.testing.assert_close(grads[2], grads[0])


def test_trains_inside_nn_sequential() -> None:
    torch.manual_seed(0)
    x = torch.randn(64, 2)
    y = ((x[:, 0] * x[:, 1]) > 0).long()  # XOR of the signs: not linearly separable
    circuit = Circuit(2)
    for q in range(2):
        circuit.ry(q, Input(q))
    w = 0
    for _ in range(3):
        circuit.cnot(0, 1)
        for q in range(2):
            circuit.ry(q, w).rz(q, w + 1)
            w += 2
        for q in range(2):
            circuit.ry(q, Input(q))  # data re-uploading
    model = nn.Sequential(nn.Linear(2, 2), CircuitLayer(circuit, input_scaling=True), nn.Linear(2, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    losses = []
    for _ in range(250):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    acc = float((model(x).argmax(1) == y).float().mean())
    assert losses[0] > 0.7 and losses[-1] < 0.05 and acc == 1.0, (losses[0], losses[-1], acc)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    state = model[1].state_dict()
    assert sorted(state) == ["input_scale", "weight"] and state["weight"].shape == (12,)


def test_shots_estimate_and_noise_match_their_references() -> None:
    x = torch.tensor([[0.3], [1.2]], dtype=torch.float64)
    torch.manual_seed(0)
    noisy = CircuitLayer(one_qubit(), noise=NoiseModel().add(BitFlip(0.1))).double()
    dm = DensityMatrixCircuit(one_qubit(), NoiseModel().add(BitFlip(0.1)), dtype=torch.complex128)
    torch.testing.assert_close(noisy(x), dm.expval(noisy.weight.detach(), None, x))
    shot = CircuitLayer(one_qubit(), diff_method="parameter_shift", shots=20000).double()
    with torch.no_grad():
        shot.weight.fill_(0.4)
    torch.manual_seed(1)
    est = shot(x)
    assert (est - torch.cos(x + 0.4)).abs().max() < 0.03  # 3 sigma of 20,000 shots is ~0.02
    est.sum().backward()
    assert shot.weight.grad is not None


def test_moves_and_keeps_its_values_through_state_dict() -> None:
    layer = CircuitLayer(one_qubit(), input_scaling=True)
    other = CircuitLayer(one_qubit(), input_scaling=True)
    other.load_state_dict(layer.state_dict())
    x = torch.linspace(-1, 1, 5).reshape(5, 1)
    torch.testing.assert_close(other(x), layer(x))
    assert layer.double()(x.double()).dtype == torch.float64
    assert layer(torch.zeros(0, 1)).shape == (0, 1)


@pytest.mark.parametrize("kwargs, match", [
    ({"circuit": Circuit(1).ry(0, 0)}, "reads no per-sample input"),
    ({"circuit": "ry"}, "must be a qtrain.sim.Circuit"),
    ({"output": "state"}, r"output='state' is not a CircuitLayer output; use one of \['expval', 'probs'\]"),
    ({"wires": [1]}, r"wires=\[1\] must be distinct integers in 0..0"),
    ({"observable": "W"}, r"observable='W' is not supported"),
    ({"shots": 100}, "shots=100 needs diff_method='parameter_shift'"),
    ({"shots": 0, "diff_method": "parameter_shift"}, "shots=0 must be a positive integer"),
    ({"init": math.nan}, "init=nan must be a finite number"),
    ({"diff_method": "magic"}, "diff_method='magic'"),
])
def test_bad_arguments_name_the_argument(kwargs: dict, match: str) -> None:
    args = {"circuit": one_qubit(), **kwargs}
    with pytest.raises(ValueError, match=match):
        CircuitLayer(**args)


def test_bad_input_shape_names_the_expected_shape() -> None:
    layer = CircuitLayer(Circuit(2).ry(0, Input(0)).ry(1, Input(1)))
    with pytest.raises(ValueError, match=r"CircuitLayer input has shape \(3, 1\); expected \(\.\.\., >= 2\)"):
        layer(torch.zeros(3, 1))
