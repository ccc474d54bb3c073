"""A circuit as a layer: ``qtrain.hybrid.CircuitLayer`` inside ``nn.Sequential`` (like PennyLane's ``TorchLayer``).

Any ``qtrain.sim.Circuit`` whose gates read ``Input(j)`` becomes an ``nn.Module``: its integer
parameter sources are one trainable weight vector, ``Input(j)`` reads feature ``j`` of each sample
(here with trainable input scaling and data re-uploading), and the output is ``<Z>`` of each wire.
A linear layer, the circuit and a linear read-out learn scikit-learn's two moons.

    python examples/circuit_layer.py        # ~10 s on one CPU core
"""
from __future__ import annotations

import torch
from sklearn.datasets import make_moons
from torch import nn

import qtrain
from qtrain.hybrid import CircuitLayer
from qtrain.sim import Circuit, Input


def reuploading_circuit(n_qubits: int = 2, layers: int = 3) -> Circuit:
    """Encode the features, then ``layers`` x (CNOT ring, trainable Ry Rz per wire, re-encode)."""
    c, w = Circuit(n_qubits), 0
    for q in range(n_qubits):
        c.ry(q, Input(q))
    for _ in range(layers):
        for q in range(n_qubits if n_qubits > 1 else 0):
            c.cnot(q, (q + 1) % n_qubits)
        for q in range(n_qubits):
            c.ry(q, w).rz(q, w + 1)
            w += 2
        for q in range(n_qubits):
            c.ry(q, Input(q))
    return c


def main() -> None:
    qtrain.set_threads(1)
    torch.manual_seed(0)
    x_np, y_np = make_moons(400, noise=0.15, random_state=0)
    x, y = torch.tensor(x_np, dtype=torch.float32), torch.tensor(y_np)
    layer = CircuitLayer(reuploading_circuit(), input_scaling=True)
    model = nn.Sequential(nn.Linear(2, 2), layer, nn.Linear(2, 2))
    print(model)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for step in range(1, 201):
        loss = nn.functional.cross_entropy(model(x[:300]), y[:300])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0:
            with torch.no_grad():
                acc = (model(x[300:]).argmax(1) == y[300:]).float().mean().item()
            print(f"step {step}: train loss {loss.item():.3f}, test accuracy {100 * acc:.1f}%")
    print(f"circuit weights {layer.weight.numel()}, input scales {layer.input_scale.detach().numpy().round(2)}")
    assert acc > 0.85


if __name__ == "__main__":
    main()
