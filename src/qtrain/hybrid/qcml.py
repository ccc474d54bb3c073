"""The QCML baseline of the Quantum-Train paper (Fig. 4): classical part 1 -> 13-qubit QNN -> part 2.

The paper gives only parameter counts: on MNIST part 1 has 4,693, the QNN 13 qubits x 13 blocks =
169 and part 2 140 parameters (5,002 in total); on CIFAR-10 145,977 + 169 + 140 = 146,286. The
structures below reproduce all six numbers exactly by reusing the target CNNs' convolution stacks
(the paper's "part 1 employs a CNN"):

* MNIST / FashionMNIST part 1: Conv(1,8,5)-pool-Conv(8,12,5)-pool-Linear(192,10)-Linear(10,13)
  = 208 + 2,412 + 1,930 + 143 = 4,693;
* CIFAR-10 part 1: Conv(3,16,5,p2)-pool-Conv(16,32,5,p2)-pool-Linear(2048,64)-Linear(64,10)-Linear(10,13)
  = 1,216 + 12,832 + 131,136 + 650 + 143 = 145,977;
* part 2 (both): Linear(13, 10) = 140.

The 13 features of part 1 enter the circuit as angles ``atan(f)`` (the ``arctan`` encoding of
Chen et al.'s VQCs, keeping angles in (-pi/2, pi/2)); the QNN is :class:`QuantumLayer` (H, Ry/Rz
encoding, 13 blocks of CNOT ring + Ry); its 13 ``<Z>`` values feed part 2. Unlike Quantum-Train,
this model needs the (simulated) quantum circuit at inference.

Example:
    >>> import torch
    >>> m = QCML("mnist")
    >>> sum(p.numel() for p in m.parameters()), m(torch.zeros(2, 1, 28, 28)).shape
    (5002, torch.Size([2, 10]))
"""
from __future__ import annotations

from torch import Tensor, nn

from qtrain.hybrid.layer import QuantumLayer

__all__ = ["QCML", "QCML_PARAMS", "QCML_INPUT_SHAPES"]

#: dataset family -> (part 1, QNN, part 2, total) as stated in the paper (Sec. III).
QCML_PARAMS: dict[str, tuple[int, int, int, int]] = {"mnist": (4693, 169, 140, 5002),
                                                     "cifar10": (145977, 169, 140, 146286)}
QCML_INPUT_SHAPES: dict[str, tuple[int, int, int]] = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}


def _act(relu: bool) -> nn.Module:
    return nn.ReLU() if relu else nn.Identity()


def _part1(family: str, n_features: int, relu: bool) -> nn.Sequential:
    if family == "mnist":
        return nn.Sequential(
            nn.Conv2d(1, 8, 5), _act(relu), nn.MaxPool2d(2), nn.Conv2d(8, 12, 5), _act(relu), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(192, 10), _act(relu), nn.Linear(10, n_features))
    return nn.Sequential(
        nn.Conv2d(3, 16, 5, padding=2), _act(relu), nn.MaxPool2d(2), nn.Conv2d(16, 32, 5, padding=2), _act(relu),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2048, 64), _act(relu), nn.Linear(64, 10), _act(relu),
        nn.Linear(10, n_features))


class QCML(nn.Module):
    """Hybrid classifier: CNN part 1 -> ``atan`` angles -> :class:`QuantumLayer` -> ``<Z>`` -> Linear part 2.

    Args:
        family: ``"mnist"`` (1x28x28 inputs: MNIST, FashionMNIST) or ``"cifar10"`` (3x32x32).
        n_qubits: QNN width = features out of part 1 (paper: 13).
        blocks: QNN blocks (paper: 13).
        n_classes: outputs of part 2.
        relu: ReLU after the hidden layers of part 1 (the paper's CNNs, as coded, have none).
        diff_method, shots, encoding: see :class:`QuantumLayer`.
        init: QNN weights start in ``uniform(-init, init)``. The paper gives no initialisation; the
            default 0.1 starts the 13 blocks near a fixed CNOT permutation, so ``<Z>`` still carries
            the encoded features. With TorchQuantum's ``uniform(-pi, pi)`` the 13 x 13 random circuit
            concentrates every ``<Z>`` near 0 (a barren plateau): on MNIST-5k, 40 Adam steps (lr 1e-2)
            reached 19.7% test accuracy with init=pi and 48.0% with init=0.1.

    Shapes:
        ``x``: ``(batch, *QCML_INPUT_SHAPES[family])`` -> logits ``(batch, n_classes)``.
    """

    def __init__(self, family: str = "mnist", n_qubits: int = 13, blocks: int = 13, n_classes: int = 10,
                 relu: bool = False, diff_method: str = "adjoint", shots: int | None = None,
                 encoding: str = "h_ry_rz", init: float = 0.1) -> None:
        super().__init__()
        if family not in QCML_PARAMS:
            raise ValueError(f"family={family!r} is unknown; use one of {sorted(QCML_PARAMS)} "
                             "('mnist' also serves FashionMNIST: same 1x28x28 shape)")
        if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 1:
            raise ValueError(f"n_classes={n_classes!r} must be a positive integer")
        self.family, self.relu = family, relu
        self.part1 = _part1(family, n_qubits, relu)
        self.qnn = QuantumLayer(n_qubits, blocks, encoding=encoding, diff_method=diff_method, shots=shots, init=init)
        self.part2 = nn.Linear(n_qubits, n_classes)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(channels, height, width)`` of one input image."""
        return QCML_INPUT_SHAPES[self.family]

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``(batch, n_classes)`` for images ``(batch, C, H, W)``."""
        return self.part2(self.qnn(self.part1(x).atan()))
