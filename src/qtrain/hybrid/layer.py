"""``QuantumLayer``: a circuit as an ``nn.Module`` where data flows through it (angles in, <Z> out).

Circuit (Quantum-Train paper, Fig. 4): Hadamard on every qubit, the data-encoding rotations
``Ry(a_j)`` then ``Rz(a_j)`` on qubit ``j`` (per-sample angles through :class:`qtrain.sim.Input`),
then ``blocks`` trainable blocks, each a CNOT ring ``0->1->...->n-1->0`` followed by ``Ry(w)`` on
every qubit (``n`` weights per block: 13 x 13 = 169 for the paper's QCML), and ``<Z>`` on every
qubit. The weights are an ``nn.Parameter``, so ``state_dict``, ``.to()`` and optimisers just work.

Example:
    >>> import torch
    >>> layer = QuantumLayer(n_qubits=4, blocks=2)
    >>> layer(torch.zeros(3, 5, 4)).shape        # any leading batch dims
    torch.Size([3, 5, 4])
    >>> sum(p.numel() for p in layer.parameters())
    8
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from qtrain.sim import Circuit, CompiledCircuit, DiffMethod, Input
from qtrain.sim.cache import CompileCache

__all__ = ["QuantumLayer", "ENCODINGS", "qcml_circuit"]

ENCODINGS = ("h_ry_rz", "ry")
"""``h_ry_rz``: H, Ry(a), Rz(a) (paper Fig. 4); ``ry``: Ry(a) only (real statevector, half the work)."""


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer")
    return value


def qcml_circuit(n_qubits: int, blocks: int, encoding: str = "h_ry_rz", ring: bool = True) -> Circuit:
    """The QCML circuit: encoding of ``n_qubits`` input angles, then ``blocks`` x (CNOT ring/chain + Ry layer).

    Weight ``b * n_qubits + q`` is the Ry angle of qubit ``q`` in block ``b``; ``Input(j)`` is angle ``j``.

    Example:
        >>> c = qcml_circuit(13, 13)
        >>> c.n_params, c.n_inputs
        (169, 13)
    """
    _positive_int("n_qubits", n_qubits)
    _positive_int("blocks", blocks)
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding={encoding!r} is unknown; use one of {list(ENCODINGS)}")
    c = Circuit(n_qubits)
    for q in range(n_qubits):
        if encoding == "h_ry_rz":
            c.h(q)
        c.ry(q, Input(q))
        if encoding == "h_ry_rz":
            c.rz(q, Input(q))
    pairs = [(q, q + 1) for q in range(n_qubits - 1)]
    if ring and n_qubits > 2:
        pairs.append((n_qubits - 1, 0))
    for b in range(blocks):
        for a, t in pairs:
            c.cnot(a, t)
        for q in range(n_qubits):
            c.ry(q, b * n_qubits + q)
    return c


class QuantumLayer(nn.Module):
    """Angles ``(..., n_qubits)`` -> ``<Z>`` of every qubit ``(..., n_qubits)``, differentiable in both.

    Args:
        n_qubits: circuit width = number of input angles = number of outputs.
        blocks: trainable blocks (``n_qubits`` weights each).
        encoding: one of :data:`ENCODINGS`.
        ring: close the CNOT chain into a ring.
        diff_method: ``"adjoint"`` (default), ``"backprop"`` or ``"parameter_shift"`` (also with ``shots``).
        shots: measure ``<Z>`` from this many shots per sample (``None``: exact); needs
            ``diff_method="parameter_shift"`` to train.
        init: initial weights drawn from ``uniform(-init, init)`` (default pi, TorchQuantum's).

    Shapes:
        ``x``: ``(..., n_qubits)`` real angles (any number of leading dims, including none) ->
        ``(..., n_qubits)`` in ``[-1, 1]``, same dtype as ``x``.
    """

    def __init__(self, n_qubits: int = 13, blocks: int = 13, encoding: str = "h_ry_rz", ring: bool = True,
                 diff_method: str = "adjoint", shots: int | None = None, init: float = math.pi) -> None:
        super().__init__()
        self.diff_method = DiffMethod.parse(diff_method)
        if shots is not None:
            _positive_int("shots", shots)
            if self.diff_method is not DiffMethod.PARAMETER_SHIFT:
                raise ValueError(f"shots={shots} needs diff_method='parameter_shift' (finite-shot estimates have "
                                 f"no {self.diff_method.value!r} gradient); pass diff_method='parameter_shift'")
        if not isinstance(init, (int, float)) or isinstance(init, bool) or init < 0:
            raise ValueError(f"init={init!r} must be a number >= 0 (weights start in uniform(-init, init))")
        self.n_qubits, self.blocks, self.encoding, self.ring, self.shots = n_qubits, blocks, encoding, ring, shots
        self._circuit_desc = qcml_circuit(n_qubits, blocks, encoding, ring)
        self.weight = nn.Parameter(torch.empty(self._circuit_desc.n_params).uniform_(-init, init))
        self._circuits = CompileCache(self._circuit_desc, self.diff_method)

    @property
    def circuit(self) -> CompiledCircuit:
        """The compiled circuit for the weights' device and precision (compiled on first use)."""
        return self._circuits.get(self.weight, self.diff_method)  # type: ignore[return-value]

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.dim() < 1 or x.shape[-1] != self.n_qubits:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"QuantumLayer input has shape {shape}; expected (..., {self.n_qubits}): "
                             f"one angle per qubit in the last dimension")
        lead = x.shape[:-1]
        flat = x.reshape(-1, self.n_qubits)
        if flat.shape[0] == 0:
            return x.new_zeros(x.shape)
        z = self.circuit.expval(self.weight, None, flat.to(self.weight.dtype), shots=self.shots)
        return z.to(x.dtype).reshape(*lead, self.n_qubits)

    def extra_repr(self) -> str:
        return (f"n_qubits={self.n_qubits}, blocks={self.blocks}, encoding={self.encoding!r}, ring={self.ring}, "
                f"diff_method={self.diff_method.value!r}, shots={self.shots}")
