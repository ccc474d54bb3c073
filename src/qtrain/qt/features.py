"""Embedding of QNN measurement probabilities: basis-state bit features and probability transforms.

Each of the first ``n_groups`` basis states ``k`` becomes one row ``[bits(k), x_k]`` of the
mapping network's input, with ``x_k`` a transform of the probability ``p_k = |<k|psi>|^2``.

* Bits, most significant first (qubit 0 = MSB, as in :mod:`qtrain.sim`):
  ``"01"`` uses {0, 1} (Quantum-Train paper, eq. (2)); ``"pm1"`` uses {-1, +1} for |0>, |1>
  (QET paper, eq. (5)-(7), and the official Quantum-Train code's ``cartesian_prod([-1, 1])``).
* Transforms: ``"raw"`` is ``p`` (Quantum-Train paper, eq. (2)); ``"scaled"`` is ``p * 2**n`` (mean 1
  over all basis states); ``"tanh_power"`` is the official code's
  ``(beta * tanh(gamma * 2**(n-1) * p))**alpha`` followed by mean removal over the rows
  (defaults gamma, beta, alpha = 0.1, 0.8, 0.3; learnable in the official QT-LSTM code).

Example:
    >>> import torch
    >>> basis_bits(3, 5, "pm1")[4]
    tensor([ 1., -1., -1.])
    >>> t = ProbTransform("scaled", n_qubits=3)
    >>> t(torch.full((8,), 1 / 8))
    tensor([1., 1., 1., 1., 1., 1., 1., 1.])
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from qtrain.choices import ChoiceEnum, argument

__all__ = ["Bits", "Transform", "ProbTransform", "basis_bits"]

_POW_EPS = 1e-12  # keeps d/dp of base**alpha finite (alpha < 1) when a probability underflows to 0


@argument("bits", "is unknown")
class Bits(ChoiceEnum):
    """Bit-feature encoding of a basis state's label."""

    ZERO_ONE = "01"  # Quantum-Train paper
    PLUS_MINUS_ONE = "pm1"  # QET paper and the official Quantum-Train code


@argument("transform", "is unknown")
class Transform(ChoiceEnum):
    """How a probability becomes the last input feature of the mapping network."""

    RAW = "raw"  # Quantum-Train paper
    SCALED = "scaled"  # p * 2**n
    TANH_POWER = "tanh_power"  # official Quantum-Train code


def basis_bits(n_qubits: int, n_rows: int, bits: str | Bits = "pm1", *, start: int = 0,
               dtype: torch.dtype = torch.float32, device: torch.device | str | None = None) -> Tensor:
    """Bit features of basis states ``start .. start + n_rows - 1``, most significant bit first.

    Args:
        n_qubits: number of bits per label.
        n_rows: how many consecutive basis states.
        bits: ``"01"`` or ``"pm1"``.
        start: first basis index.
        dtype, device: of the result.

    Returns:
        ``(n_rows, n_qubits)``; column ``j`` is qubit ``j`` (column 0 is the most significant bit).

    Example:
        >>> basis_bits(3, 2, "01", start=5)
        tensor([[1., 0., 1.],
                [1., 1., 0.]])
    """
    mode = Bits.parse(bits)
    idx = torch.arange(start, start + n_rows, device=device, dtype=torch.int64)
    shifts = torch.arange(n_qubits - 1, -1, -1, device=device, dtype=torch.int64)
    b = ((idx[:, None] >> shifts) & 1).to(dtype)
    return b * 2 - 1 if mode is Bits.PLUS_MINUS_ONE else b


class ProbTransform(nn.Module):
    """Probability -> feature transform (see the module docstring for the papers).

    Args:
        kind: ``"raw"``, ``"scaled"`` or ``"tanh_power"``.
        n_qubits: circuit width (sets the ``2**n`` and ``2**(n-1)`` factors).
        params: ``(gamma, beta, alpha)`` for ``"tanh_power"``.
        learnable: make ``(gamma, beta, alpha)`` trainable parameters (counted as extras).

    Shapes:
        ``(rows,)`` probabilities -> ``(rows,)`` features.

    Example:
        >>> t = ProbTransform("tanh_power", n_qubits=13)
        >>> t(torch.tensor([0.0, 1e-3]))   # centred: the official code removes the mean
        tensor([-0.3519,  0.3519])
    """

    def __init__(self, kind: str | Transform, n_qubits: int,
                 params: Sequence[float] = (0.1, 0.8, 0.3), learnable: bool = False) -> None:
        super().__init__()
        self.kind = Transform.parse(kind)
        self.n_qubits = n_qubits
        if learnable and self.kind is not Transform.TANH_POWER:
            raise ValueError(
                f"learn_transform=True needs transform='tanh_power' (the only one with parameters), "
                f"got transform={self.kind.value!r}; set learn_transform=False or use 'tanh_power'"
            )
        if len(params) != 3:
            raise ValueError(f"transform_params={tuple(params)!r} must be (gamma, beta, alpha)")
        gba = torch.tensor([float(v) for v in params])
        if learnable:
            self.gamma_beta_alpha = nn.Parameter(gba)
        else:
            self.register_buffer("gamma_beta_alpha", gba)
        self.learnable = learnable

    def forward(self, p: Tensor) -> Tensor:
        if self.kind is Transform.RAW:
            return p
        if self.kind is Transform.SCALED:
            return p * float(2**self.n_qubits)
        gamma, beta, alpha = self.gamma_beta_alpha.to(p.dtype).unbind()
        base = beta * torch.tanh(gamma * float(2 ** (self.n_qubits - 1)) * p)
        x = base.clamp_min(_POW_EPS) ** alpha
        return x - x.mean()  # the official code centres the transformed probabilities

    def extra_repr(self) -> str:
        return f"kind={self.kind.value!r}, n_qubits={self.n_qubits}, learnable={self.learnable}"
