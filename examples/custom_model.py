"""Your own model under Quantum-Train: a small CNN with BatchNorm on scikit-learn's 8x8 digits.

The CNN is an ordinary ``nn.Module`` that knows nothing about qtrain. ``QuantumTrain`` generates
every trainable weight from a QNN + mapping (BatchNorm's running statistics keep updating as
buffers), trains them with Adam, and exports a plain ``DigitsCNN`` whose outputs equal the
wrapper's; the ``model.safetensors`` it writes loads into a fresh ``DigitsCNN`` without qtrain.

    python examples/custom_model.py        # ~15 s on one CPU core
"""
from __future__ import annotations

import tempfile

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from sklearn.datasets import load_digits
from torch import nn

import qtrain


class DigitsCNN(nn.Module):
    """8x8 digits -> 10 classes: conv 3x3 (8 channels), BatchNorm, ReLU, 2x2 max-pool, linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8 * 4 * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(F.max_pool2d(F.relu(self.bn(self.conv(x))), 2).flatten(1))


def main() -> None:
    qtrain.set_threads(1)  # small kernels: one thread is fastest on a shared machine
    torch.manual_seed(0)
    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(digits.target)
    perm = torch.randperm(len(y))
    train, test = perm[:1400], perm[1400:]

    qt = qtrain.QuantumTrain(DigitsCNN(), blocks=12, mapping=qtrain.MLPMapping((8, 8)), calibrate=True,
                             transform="scaled")
    print(qt.summary())
    opt = torch.optim.Adam(qt.parameters(), lr=1e-2)
    for epoch in range(1, 9):
        for idx in train[torch.randperm(len(train))].split(64):
            loss = F.cross_entropy(qt(x[idx]), y[idx])  # the circuit runs once per step, not per sample
            opt.zero_grad()
            loss.backward()
            opt.step()
        qt.eval()
        with torch.no_grad():
            acc = (qt(x[test]).argmax(1) == y[test]).float().mean().item()
        qt.train()
        print(f"epoch {epoch}: last batch loss {loss.item():.3f}, test accuracy {100 * acc:.1f}%")

    qt.eval()
    with tempfile.TemporaryDirectory() as folder:
        plain = qt.export(folder)  # a DigitsCNN with the generated weights, and folder/model.safetensors
        fresh = DigitsCNN().eval()
        fresh.load_state_dict(load_file(f"{folder}/model.safetensors"))
    with torch.no_grad():
        same = torch.allclose(plain(x[test]), qt(x[test]), atol=1e-5) and torch.equal(plain(x[test]), fresh(x[test]))
    print(f"exported {type(plain).__name__}: outputs equal the wrapper's: {same}")
    assert same and acc > 0.8


if __name__ == "__main__":
    main()
