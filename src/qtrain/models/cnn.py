"""The image CNNs of the Quantum-Train paper (Table I/II: MNIST/FashionMNIST, Table III: CIFAR-10).

The official code (``Hon-Hai-Quantum-Computing/QuantumTrain``) runs these networks with **no
activation at all** (so each is an affine map followed by max-pooling); ``relu=True`` adds a
ReLU after every convolution and after every hidden linear layer, which trains far better with
the few epochs a demo can afford. Parameter counts do not depend on ``relu``.
"""
from __future__ import annotations

from torch import Tensor, nn

__all__ = ["MnistCNN", "CifarCNN"]


def _act(relu: bool) -> nn.Module:
    return nn.ReLU() if relu else nn.Identity()


class MnistCNN(nn.Module):
    """Conv(1,8,5)-MaxPool2-Conv(8,12,5)-MaxPool2-Flatten-Linear(192,20)-Linear(20,10): 6,690 weights.

    Args:
        relu: add ReLU after both convolutions and after ``fc1`` (the official code has none).

    Shapes:
        ``x``: ``(batch, 1, 28, 28)`` -> logits ``(batch, 10)``.

    Example:
        >>> import torch
        >>> MnistCNN(relu=True)(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    def __init__(self, relu: bool = False) -> None:
        super().__init__()
        self.relu = relu
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=5), _act(relu), nn.MaxPool2d(2),
            nn.Conv2d(8, 12, kernel_size=5), _act(relu), nn.MaxPool2d(2),
            nn.Flatten(),
        )
        self.classifier = nn.Sequential(nn.Linear(192, 20), _act(relu), nn.Linear(20, 10))

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``(batch, 10)`` for images ``(batch, 1, 28, 28)``."""
        return self.classifier(self.features(x))


class CifarCNN(nn.Module):
    """Conv(3,16,5,p2)-pool-Conv(16,32,5,p2)-pool-Linear(2048,128)-Linear(128,64)-Linear(64,10): 285,226.

    Args:
        relu: add ReLU after both convolutions and both hidden linear layers (the TorchQuantum
            script has none; the PennyLane notebook has them).

    Shapes:
        ``x``: ``(batch, 3, 32, 32)`` -> logits ``(batch, 10)``.

    Example:
        >>> import torch
        >>> CifarCNN()(torch.zeros(1, 3, 32, 32)).shape
        torch.Size([1, 10])
    """

    def __init__(self, relu: bool = False) -> None:
        super().__init__()
        self.relu = relu
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, kernel_size=5, padding=2), _act(relu), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, kernel_size=5, padding=2), _act(relu), nn.MaxPool2d(2),
            nn.Flatten(),
        )
        self.classifier = nn.Sequential(
            nn.Linear(2048, 128), _act(relu), nn.Linear(128, 64), _act(relu), nn.Linear(64, 10),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``(batch, 10)`` for images ``(batch, 3, 32, 32)``."""
        return self.classifier(self.features(x))
