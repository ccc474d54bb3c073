"""A small variational feature layer (4 qubits by default) and its use as a convolution over patches.

The V2X paper (arXiv 003, Sec. III-B and VII) describes a "4-qubit feature extraction layer": angle
encoding of the input, parameterised rotations and CNOT entanglers (or a QCNN), and Pauli-Z
readout, followed by classical post-processing. Two circuit layouts are built here:

* ``vqc`` -- ``Ry(scale * x_j)`` on qubit ``j``; then ``layers`` x (``Ry(w)``, ``Rz(w)`` on every
  qubit, CNOT ring ``0->1->...->n-1->0``); ``<Z>`` on every qubit. ``2 n`` weights per layer.
* ``qcnn`` -- DeepQuantum's ``QuantumConvolutionalNeuralNetwork`` (the library the paper used):
  ``Ry`` encoding; one shared U3 on the even wires and one on the odd wires; per layer a
  convolution (one shared ``Rxx, Ryy, Rzz`` triple and one shared ``U3 (x) U3`` pair, applied to
  the pairs ``(a0, a1), (a2, a3), ...`` then ``(a1, a2), ...`` of the active wires ``a``) and a
  pooling (one shared controlled-U3, control on the odd wire, target on the even one) that keeps
  ``a[::2]``; ``<Z>`` on the wires left. ``6 + 12 * layers`` weights (4 qubits, 1 layer: 18,
  readout wires ``[0, 2]``).

:class:`QuantumFeatureLayer` maps angles ``(..., n)`` to ``(..., n_out)``; :class:`Quanv2d` slides
it over non-overlapping ``k x k`` patches of an image (``k * k = n``), one circuit per patch.

Example:
    >>> import torch
    >>> layer = QuantumFeatureLayer(4, layout="vqc", layers=2)
    >>> layer.n_quantum_params, layer(torch.rand(5, 4)).shape
    (16, torch.Size([5, 4]))
    >>> Quanv2d(QuantumFeatureLayer(4, layout="qcnn", layers=1))(torch.rand(3, 1, 8, 8)).shape
    torch.Size([3, 2, 4, 4])
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from qtrain.choices import ChoiceEnum, argument
from qtrain.sim import Circuit, CompiledCircuit, DiffMethod, Input
from qtrain.sim.cache import CompileCache

__all__ = ["FeatureLayout", "feature_circuit", "QuantumFeatureLayer", "Quanv2d"]


@argument("layout")
class FeatureLayout(ChoiceEnum):
    """Circuit layout of the feature layer."""

    VQC = "vqc"  # rotations + CNOT ring, <Z> on every qubit
    QCNN = "qcnn"  # DeepQuantum QCNN: shared conv (Rxx, Ryy, Rzz, U3 x U3) + controlled-U3 pooling


def _check_positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer")
    return value


def _vqc(n: int, layers: int, scale: float) -> tuple[Circuit, list[int]]:
    c = Circuit(n)
    for q in range(n):
        c.ry(q, Input(q, scale))
    for layer in range(layers):
        base = 2 * n * layer
        for q in range(n):
            c.ry(q, base + 2 * q).rz(q, base + 2 * q + 1)
        for q in range(n if n > 2 else n - 1):
            c.cnot(q, (q + 1) % n)
    return c, list(range(n))


def _qcnn(n: int, layers: int, scale: float) -> tuple[Circuit, list[int]]:
    if n % 2 or n < 2:
        raise ValueError(f"n_qubits={n} must be even for layout='qcnn' (wires are paired)")
    if 2**layers > n:
        raise ValueError(f"layers={layers} is too many for n_qubits={n} with layout='qcnn': each pooling halves "
                         f"the wires, so use layers <= {int(math.log2(n))}")
    c = Circuit(n)
    for q in range(n):
        c.ry(q, Input(q, scale))
    for q in range(n):  # weights 0..2 on even wires, 3..5 on odd ones (one U3 instance each)
        k = 0 if q % 2 == 0 else 3
        c.u3(q, k, k + 1, k + 2)
    wires, w = list(range(n)), 6
    for _ in range(layers):
        for start in (1, 2):
            for i, b in enumerate(wires[start::2]):
                a = wires[2 * i + start - 1]
                c.rxx(a, b, w).ryy(a, b, w + 1).rzz(a, b, w + 2)
                c.u3(a, w + 3, w + 4, w + 5).u3(b, w + 6, w + 7, w + 8)
        for i, ctrl in enumerate(wires[1::2]):
            c.cu3(ctrl, wires[2 * i], w + 9, w + 10, w + 11)
        wires, w = wires[::2], w + 12
    return c, wires


def feature_circuit(n_qubits: int = 4, layout: str = "vqc", layers: int = 2,
                    scale: float = math.pi) -> tuple[Circuit, list[int]]:
    """The feature circuit and its readout wires; ``Input(j)`` (times ``scale``) is the angle of qubit ``j``.

    Example:
        >>> c, wires = feature_circuit(4, "qcnn", 1)
        >>> c.n_params, wires
        (18, [0, 2])
    """
    _check_positive("n_qubits", n_qubits)
    _check_positive("layers", layers)
    kind = FeatureLayout.parse(layout)
    if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not math.isfinite(scale):
        raise ValueError(f"scale={scale!r} must be a finite number (angle = scale * input)")
    return (_vqc if kind is FeatureLayout.VQC else _qcnn)(n_qubits, layers, float(scale))


class QuantumFeatureLayer(nn.Module):
    """Angles ``(..., n_qubits)`` -> ``<Z>`` of the readout wires ``(..., n_out)``, differentiable in both.

    Args:
        n_qubits: circuit width = number of input features (default 4, the paper's).
        layout: ``"vqc"`` or ``"qcnn"`` (see the module docstring).
        layers: variational layers (``vqc``) or conv + pool layers (``qcnn``).
        scale: angle = ``scale * x`` (default pi: inputs in ``[0, 1]`` cover a half turn of the Bloch sphere).
        diff_method: ``"adjoint"`` (default), ``"backprop"`` or ``"parameter_shift"``.
        init: weights start uniform in ``[-init, init]``.

    Attributes:
        weight: ``nn.Parameter (n_quantum_params,)``.
        readout_wires: the measured wires.
    """

    def __init__(self, n_qubits: int = 4, layout: str = "vqc", layers: int = 2, scale: float = math.pi,
                 diff_method: str = "adjoint", init: float = math.pi) -> None:
        super().__init__()
        self.diff_method = DiffMethod.parse(diff_method)
        self.layout = FeatureLayout.parse(layout)
        if isinstance(init, bool) or not isinstance(init, (int, float)) or not 0 <= init < math.inf:
            raise ValueError(f"init={init!r} must be a finite number >= 0 (weights start in uniform(-init, init))")
        self.n_qubits, self.layers, self.scale = n_qubits, layers, scale
        self._desc, self.readout_wires = feature_circuit(n_qubits, self.layout.value, layers, scale)
        self.weight = nn.Parameter(torch.empty(self._desc.n_params).uniform_(-init, init))
        self._cache = CompileCache(self._desc, self.diff_method)  # compiled per weight device and precision

    @property
    def n_quantum_params(self) -> int:
        """Trainable circuit weights."""
        return self.weight.numel()

    @property
    def n_out(self) -> int:
        """Number of ``<Z>`` outputs."""
        return len(self.readout_wires)

    @property
    def circuit(self) -> CompiledCircuit:
        """The compiled circuit for the weights' device and precision (compiled once per pair)."""
        return self._cache.get(self.weight)  # type: ignore[return-value]  # noiseless: a CompiledCircuit


    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.dim() < 1 or x.shape[-1] != self.n_qubits:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"QuantumFeatureLayer input has shape {shape}; expected (..., {self.n_qubits}): "
                             "one angle per qubit in the last dimension")
        lead, flat = x.shape[:-1], x.reshape(-1, self.n_qubits)
        if flat.shape[0] == 0:
            return x.new_zeros(*lead, self.n_out)
        z = self.circuit.expval(self.weight, self.readout_wires, flat.to(self.weight.dtype))
        return z.to(x.dtype).reshape(*lead, self.n_out)

    def extra_repr(self) -> str:
        return (f"n_qubits={self.n_qubits}, layout={self.layout.value!r}, layers={self.layers}, "
                f"n_out={self.n_out}, diff_method={self.diff_method.value!r}")


class Quanv2d(nn.Module):
    """Quantum convolution: a feature layer applied to every non-overlapping ``k x k`` patch.

    ``(B, 1, H, W)`` -> ``(B, n_out, H / k, W / k)`` with ``k = sqrt(n_qubits)``; pixel ``(i, j)``
    of a patch feeds qubit ``k * i + j``. The circuit weights are shared by all patches.

    Args:
        layer: the feature layer (``n_qubits`` must be a square: 4, 9, ...).
    """

    def __init__(self, layer: QuantumFeatureLayer) -> None:
        super().__init__()
        k = math.isqrt(layer.n_qubits)
        if k * k != layer.n_qubits:
            raise ValueError(f"Quanv2d needs a square number of qubits (k x k patches); got n_qubits={layer.n_qubits}")
        self.layer, self.k = layer, k

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.dim() != 4 or x.shape[1] != 1 or x.shape[2] % self.k or x.shape[3] % self.k:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"Quanv2d input has shape {shape}; expected (B, 1, H, W) with H and W multiples of "
                             f"{self.k}")
        b, _, h, w = x.shape
        k = self.k
        patches = x.reshape(b, h // k, k, w // k, k).permute(0, 1, 3, 2, 4).reshape(b, h // k, w // k, k * k)
        return self.layer(patches).permute(0, 3, 1, 2)
