"""``QCNN``: a quantum convolutional neural network as an ``nn.Module`` (Hur et al. 2022; HQCNN paper).

Circuit on ``n_qubits`` (even) wires: angle embedding ``Rx(x_j)`` or ``Ry(x_j)`` of the last input
dimension, then ``n_layers`` x (convolution, pooling). A convolution applies one two-qubit circuit
from the Hur et al. catalogue (:data:`CONV_ANSATZE`) to the even pairs ``(a0, a1), (a2, a3), ...``
then the odd pairs ``(a1, a2), ..., (a_{n-1}, a0)`` (a ring) of the active wires ``a``; pooling
(``Pooling_ansatz1``: ``CRZ(t0)``, ``X(c)``, ``CRX(t1)`` with control ``a_{2i}`` and target
``a_{2i+1}``) keeps the targets. ``<Z>`` is read on the wires left active (8 qubits, 1 layer:
wires ``[1, 3, 5, 7]``, exactly the public HQCNN code).

``shared=True`` (the HQCNN paper): ONE convolution circuit and one pooling circuit are reused by
every layer, so the quantum parameter count is ``conv + 2`` whatever ``n_layers`` is (15 + 2 = 17
for ``U_SU4``). ``shared=False`` (Hur et al.): fresh parameters per layer, ``n_layers * (conv + 2)``.

Example:
    >>> import torch
    >>> q = QCNN(8, conv="su4", n_layers=2)
    >>> q.n_quantum_params, q.readout_wires
    (17, [3, 7])
    >>> q(torch.zeros(5, 3, 8)).shape                 # any leading batch dims
    torch.Size([5, 3, 2])
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import Tensor, nn

from qtrain.sim import Circuit, DensityMatrixCircuit, DiffMethod, Input
from qtrain.sim.cache import CompileCache, Executor
from qtrain.sim.noise import Depolarizing, NoiseModel

__all__ = ["QCNN", "CONV_ANSATZE", "EMBEDDINGS", "qcnn_circuit", "conv_layout"]

EMBEDDINGS = ("rx", "ry")
"""Angle embedding gates: ``rx`` (public HQCNN code, PennyLane's default) or ``ry`` (Hur et al.)."""

_Conv = Callable[[Circuit, int, int, Sequence[int]], None]


def _ttn(c: Circuit, a: int, b: int, p: Sequence[int]) -> None:
    c.ry(a, p[0]).ry(b, p[1]).cnot(a, b)


def _u9(c: Circuit, a: int, b: int, p: Sequence[int]) -> None:
    c.h(a).h(b).cz(a, b).rx(a, p[0]).rx(b, p[1])


def _u15(c: Circuit, a: int, b: int, p: Sequence[int]) -> None:
    c.ry(a, p[0]).ry(b, p[1]).cnot(b, a).ry(a, p[2]).ry(b, p[3]).cnot(a, b)


def _so4(c: Circuit, a: int, b: int, p: Sequence[int]) -> None:
    c.ry(a, p[0]).ry(b, p[1]).cnot(a, b).ry(a, p[2]).ry(b, p[3]).cnot(a, b).ry(a, p[4]).ry(b, p[5])


def _controlled_pair(gate: str, rot: str) -> _Conv:
    """U_5 / U_6 (10 params: rx rx rz rz, c-rot both ways, rx rx rz rz) and U_13 / U_14 (6, ry)."""
    def conv(c: Circuit, a: int, b: int, p: Sequence[int]) -> None:
        if rot == "ry":
            c.ry(a, p[0]).ry(b, p[1]).add(gate, (b, a), [p[2]]).ry(a, p[3]).ry(b, p[4]).add(gate, (a, b), [p[5]])
            return
        c.rx(a, p[0]).rx(b, p[1]).rz(a, p[2]).rz(b, p[3]).add(gate, (b, a), [p[4]]).add(gate, (a, b), [p[5]])
        c.rx(a, p[6]).rx(b, p[7]).rz(a, p[8]).rz(b, p[9])
    return conv


def _su4(c: Circuit, a: int, b: int, p: Sequence[int]) -> None:
    c.su4(a, b, list(p))


CONV_ANSATZE: dict[str, tuple[int, _Conv]] = {
    "ttn": (2, _ttn), "u5": (10, _controlled_pair("crz", "rx")), "u6": (10, _controlled_pair("crx", "rx")),
    "u9": (2, _u9), "u13": (6, _controlled_pair("crz", "ry")), "u14": (6, _controlled_pair("crx", "ry")),
    "u15": (4, _u15), "so4": (6, _so4), "su4": (15, _su4),
}
"""Hur et al. convolution circuits: name -> (parameter count, builder). ``su4`` is the HQCNN's PQC."""

POOL_PARAMS = 2


def conv_layout(n_qubits: int, n_layers: int) -> list[list[int]]:
    """Active wires before each layer, plus the readout wires last (``n_layers + 1`` lists).

    Example:
        >>> conv_layout(8, 2)
        [[0, 1, 2, 3, 4, 5, 6, 7], [1, 3, 5, 7], [3, 7]]
    """
    if isinstance(n_qubits, bool) or not isinstance(n_qubits, int) or n_qubits < 2 or n_qubits % 2:
        raise ValueError(f"n_qubits={n_qubits!r} must be an even integer >= 2 (pairs of wires are convolved)")
    active, out = list(range(n_qubits)), []
    for _ in range(n_layers):
        if len(active) < 2:
            break
        out.append(active)
        active = [active[i + 1] for i in range(0, len(active) - 1, 2)] + (active[-1:] if len(active) % 2 else [])
    if len(out) != n_layers:
        raise ValueError(f"n_layers={n_layers!r} is too many for n_qubits={n_qubits}: each layer halves the active "
                         f"wires and needs >= 2 of them, so use n_layers <= {len(out)}")
    return out + [active]


def qcnn_circuit(n_qubits: int, conv: str = "su4", n_layers: int = 1, shared: bool = True,
                 pooling: bool = True, embedding: str = "rx") -> tuple[Circuit, list[int]]:
    """The QCNN circuit and its readout wires; ``Input(j)`` is the angle of qubit ``j``.

    Weights: ``[conv_0 | pool_0 | conv_1 | pool_1 | ...]`` per layer, or one ``[conv | pool]`` when shared.
    Without pooling every layer keeps all wires (only ``n_layers`` convolutions).

    Example:
        >>> c, wires = qcnn_circuit(8, "su4", 1)
        >>> c.n_params, wires
        (17, [1, 3, 5, 7])
    """
    if conv not in CONV_ANSATZE:
        raise ValueError(f"conv={conv!r} is unknown; use one of {sorted(CONV_ANSATZE)}")
    if embedding not in EMBEDDINGS:
        raise ValueError(f"embedding={embedding!r} is unknown; use one of {list(EMBEDDINGS)}")
    if isinstance(n_layers, bool) or not isinstance(n_layers, int) or n_layers < 1:
        raise ValueError(f"n_layers={n_layers!r} must be a positive integer")
    n_conv, build = CONV_ANSATZE[conv]
    layout = conv_layout(n_qubits, n_layers) if pooling else [list(range(n_qubits))] * (n_layers + 1)
    per_layer = n_conv + (POOL_PARAMS if pooling else 0)
    c = Circuit(n_qubits)
    for q in range(n_qubits):
        c.add(embedding, q, [Input(q)])
    for layer, act in enumerate(layout[:-1]):
        base = 0 if shared else layer * per_layer
        cp = list(range(base, base + n_conv))
        pairs = [(act[i], act[i + 1]) for i in range(0, len(act) - 1, 2)]
        if len(act) > 2:
            pairs += [(act[i], act[(i + 1) % len(act)]) for i in range(1, len(act), 2)]
        for a, b in pairs:
            build(c, a, b, cp)
        if pooling:
            for i in range(0, len(act) - 1, 2):
                c.crz(act[i], act[i + 1], base + n_conv).x(act[i]).crx(act[i], act[i + 1], base + n_conv + 1)
    return c, layout[-1]


class QCNN(nn.Module):
    """QCNN layer: angles ``(..., n_qubits)`` in, ``<Z>`` of the readout wires ``(..., n_out)`` out.

    Args:
        n_qubits: even number of wires (= input features).
        conv: convolution circuit, one of :data:`CONV_ANSATZE` (default ``"su4"``, 15 parameters).
        n_layers: convolution + pooling layers (each halves the active wires).
        shared: one PQC for every layer (HQCNN paper) or per-layer parameters (Hur et al.).
        pooling: add ``Pooling_ansatz1`` (2 parameters per layer) and drop the controls.
        embedding: ``"rx"`` or ``"ry"`` angle embedding.
        diff_method: ``"backprop"``, ``"adjoint"`` or ``"parameter_shift"`` (statevector only).
        noise: depolarizing probability ``p`` after every gate (embedding included) on every wire it
            touches; runs a :class:`~qtrain.sim.DensityMatrixCircuit` (backprop gradients). ``None``: noiseless.
        init_scale: weights start uniform in ``[-init_scale, init_scale]``.

    Attributes:
        weight: ``nn.Parameter`` ``(n_quantum_params,)``.
        readout_wires: the measured wires.
    """

    def __init__(self, n_qubits: int = 8, conv: str = "su4", n_layers: int = 1, shared: bool = True,
                 pooling: bool = True, embedding: str = "rx", diff_method: str = "backprop",
                 noise: float | None = None, init_scale: float = math.pi) -> None:
        super().__init__()
        self.diff_method = DiffMethod.parse(diff_method)
        if noise is not None and not 0.0 <= float(noise) <= 1.0:
            raise ValueError(f"noise={noise!r} must be a depolarizing probability in [0, 1] (or None: noiseless)")
        self.n_qubits, self.conv, self.n_layers, self.shared = n_qubits, conv, n_layers, shared
        self.pooling, self.embedding, self.noise = pooling, embedding, noise
        self._desc, self.readout_wires = qcnn_circuit(n_qubits, conv, n_layers, shared, pooling, embedding)
        self.weight = nn.Parameter(torch.empty(self._desc.n_params).uniform_(-init_scale, init_scale))
        self.noise_model = NoiseModel().add(Depolarizing(float(noise))) if noise is not None else None
        self._circuits = CompileCache(self._desc, self.diff_method, noise=self.noise_model)

    @property
    def n_quantum_params(self) -> int:
        """Trainable circuit weights."""
        return self.weight.numel()

    @property
    def n_out(self) -> int:
        """Number of readout expectation values."""
        return len(self.readout_wires)

    def executor(self, noise_scale: float = 1.0) -> Executor:
        """The compiled executor for the weights' device/precision (cached; density matrix when noisy)."""
        ex = self._circuits.get(self.weight, self.diff_method)
        if isinstance(ex, DensityMatrixCircuit):
            ex.noise = self.noise_model.with_scale(noise_scale)  # type: ignore[union-attr]
        return ex

    def forward(self, x: Tensor, noise_scale: float = 1.0) -> Tensor:
        """``<Z>`` of the readout wires ``(..., n_out)`` for angles ``x (..., n_qubits)``.

        ``noise_scale`` multiplies the depolarizing probability (zero-noise extrapolation); ignored
        when noiseless.
        """
        if not isinstance(x, Tensor) or x.dim() < 1 or x.shape[-1] != self.n_qubits:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"QCNN input has shape {shape}; expected (..., {self.n_qubits}): one angle per qubit")
        lead, flat = x.shape[:-1], x.reshape(-1, self.n_qubits)
        if flat.shape[0] == 0:
            return x.new_zeros(*lead, self.n_out)
        z = self.executor(noise_scale).expval(self.weight, self.readout_wires, flat.to(self.weight.dtype))
        return z.to(x.dtype).reshape(*lead, self.n_out)

    def extra_repr(self) -> str:
        return (f"n_qubits={self.n_qubits}, conv={self.conv!r}, n_layers={self.n_layers}, shared={self.shared}, "
                f"pooling={self.pooling}, embedding={self.embedding!r}, diff_method={self.diff_method.value!r}, "
                f"noise={self.noise}")
