"""``CircuitLayer``: any :class:`qtrain.sim.Circuit` with :class:`~qtrain.sim.Input` parameters as an ``nn.Module``.

The counterpart of PennyLane's ``qml.qnn.TorchLayer``: the circuit's integer parameter sources
become one trainable weight vector (an ``nn.Parameter``, so ``state_dict``, ``.to()`` and
optimisers just work), ``Input(j)`` reads feature ``j`` of each sample, an optional trainable
per-feature input scaling multiplies the features first, and the output is ``<P>`` of chosen wires
(``expval``) or the probabilities of chosen wires (``probs``). Any number of leading batch
dimensions is accepted. The circuit is compiled on first use for the weights' device and dtype.

Example:
    >>> import torch
    >>> from qtrain.sim import Circuit, Input
    >>> circuit = Circuit(2).ry(0, Input(0)).ry(1, Input(1)).cnot(0, 1).ry(0, 0).ry(1, 1)
    >>> layer = CircuitLayer(circuit)                       # 2 weights, 2 features -> <Z0>, <Z1>
    >>> model = torch.nn.Sequential(torch.nn.Linear(4, 2), layer, torch.nn.Linear(2, 3))
    >>> model(torch.zeros(5, 4)).shape
    torch.Size([5, 3])
    >>> CircuitLayer(circuit, output="probs", wires=[1])(torch.zeros(7, 2)).shape
    torch.Size([7, 2])
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import torch
from torch import Tensor, nn

from qtrain.choices import ChoiceEnum, argument
from qtrain.sim import Circuit, DiffMethod, NoiseModel
from qtrain.sim.cache import CompileCache

__all__ = ["CircuitLayer", "CircuitOutput"]


@argument("output", "is not a CircuitLayer output")
class CircuitOutput(ChoiceEnum):
    """What :class:`CircuitLayer` returns per sample."""

    EXPVAL = "expval"  # <P_w> for each chosen wire: (..., len(wires))
    PROBS = "probs"  # probabilities of the chosen wires' basis states: (..., 2**len(wires))


_OBSERVABLES = ("X", "Y", "Z")


def _check_circuit(circuit: Any) -> Circuit:
    if not isinstance(circuit, Circuit):
        raise ValueError(f"circuit={circuit!r} must be a qtrain.sim.Circuit (e.g. Circuit(2).ry(0, Input(0)).ry(0, 0))")
    if circuit.n_inputs == 0:
        raise ValueError("circuit reads no per-sample input (no qtrain.sim.Input parameter); a CircuitLayer feeds "
                         "features x[..., j] to Input(j): add e.g. .ry(0, Input(0)), or run circuit.compile() "
                         "directly for a circuit of weights only")
    return circuit


def _check_wires(wires: Sequence[int] | None, n: int) -> tuple[int, ...]:
    ws = tuple(range(n)) if wires is None else tuple(wires)
    bad = [w for w in ws if isinstance(w, bool) or not isinstance(w, int) or not 0 <= w < n]
    if not ws or bad or len(set(ws)) != len(ws):
        raise ValueError(f"wires={list(ws)} must be distinct integers in 0..{n - 1} (at least one) "
                         f"for a {n}-qubit circuit; default: every wire")
    return ws


class CircuitLayer(nn.Module):
    """A circuit whose ``Input(j)`` parameters read the layer's input features; trainable weights.

    Args:
        circuit: the description; its integer parameter sources index :attr:`weight`
            (``circuit.n_params`` entries), ``Input(j, scale)`` reads ``scale * x[..., j]``.
        output: ``"expval"`` (``<P>`` per wire, in ``[-1, 1]``) or ``"probs"`` (joint probabilities
            of ``wires``, first wire most significant).
        wires: measured wires (default: every wire, in order).
        observable: Pauli ``"X"``, ``"Y"`` or ``"Z"`` for ``expval``.
        input_scaling: learn a per-feature factor (initially 1) applied to ``x`` before encoding.
        diff_method: ``"adjoint"`` (default), ``"backprop"`` or ``"parameter_shift"`` (needed with ``shots``).
        shots: estimate the output from this many shots per sample (``None``: exact).
        noise: a :class:`~qtrain.sim.NoiseModel`: run on density matrices (backprop gradients, no shots).
        init: initial weights from ``uniform(-init, init)`` (default pi).

    Shapes:
        ``x``: ``(..., n_features)`` with ``n_features >= circuit.n_inputs`` -> ``(..., len(wires))``
        for ``expval``, ``(..., 2**len(wires))`` for ``probs``; the dtype of ``x``.
    """

    def __init__(self, circuit: Circuit, output: str = "expval", wires: Sequence[int] | None = None,
                 observable: str = "Z", input_scaling: bool = False, diff_method: str = "adjoint",
                 shots: int | None = None, noise: NoiseModel | None = None, init: float = math.pi) -> None:
        super().__init__()
        self.circuit_desc = _check_circuit(circuit)
        self.output = CircuitOutput.parse(output)
        self.wires = _check_wires(wires, circuit.n_qubits)
        if observable not in _OBSERVABLES:
            raise ValueError(f"observable={observable!r} is not supported; use one of {list(_OBSERVABLES)}")
        self.observable = observable
        self.diff_method = DiffMethod.parse(diff_method)
        self._check_shots(shots, noise)
        if isinstance(init, bool) or not isinstance(init, (int, float)) or not 0 <= init < math.inf:
            raise ValueError(f"init={init!r} must be a finite number >= 0 (weights start in uniform(-init, init))")
        self.shots, self.noise, self.n_inputs = shots, noise, circuit.n_inputs
        self.weight = nn.Parameter(torch.empty(circuit.n_params).uniform_(-init, init))
        self.input_scale = nn.Parameter(torch.ones(circuit.n_inputs)) if input_scaling else None
        method = DiffMethod.BACKPROP if noise is not None else self.diff_method
        self._circuits = CompileCache(circuit, method, noise=noise)

    def _check_shots(self, shots: int | None, noise: NoiseModel | None) -> None:
        if shots is None:
            return
        if isinstance(shots, bool) or not isinstance(shots, int) or shots < 1:
            raise ValueError(f"shots={shots!r} must be a positive integer or None (exact)")
        if noise is not None:
            raise ValueError(f"shots={shots} with noise: the density-matrix executor returns exact values; "
                             "drop shots (or noise)")
        if self.diff_method is not DiffMethod.PARAMETER_SHIFT:
            raise ValueError(f"shots={shots} needs diff_method='parameter_shift' (finite-shot estimates have no "
                             f"{self.diff_method.value!r} gradient)")

    @property
    def output_size(self) -> int:
        """Features per sample out of the layer: ``len(wires)`` or ``2**len(wires)``."""
        return len(self.wires) if self.output is CircuitOutput.EXPVAL else 2 ** len(self.wires)

    def _measure(self, flat: Tensor) -> Tensor:
        ex: Any = self._circuits.get(self.weight)
        kw = {"shots": self.shots} if self.shots else {}
        if self.output is CircuitOutput.EXPVAL:
            return ex.expval(self.weight, self.wires, flat, observable=self.observable, **kw)
        if self.wires == tuple(range(self.circuit_desc.n_qubits)):
            return ex.probs(self.weight, flat, **kw)
        return ex.marginal_probs(self.weight, self.wires, flat, **kw)

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.dim() < 1 or x.shape[-1] < self.n_inputs:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"CircuitLayer input has shape {shape}; expected (..., >= {self.n_inputs}): the circuit "
                             f"reads Input(0..{self.n_inputs - 1}) from the last dimension")
        lead = x.shape[:-1]
        flat = x.reshape(-1, x.shape[-1]).to(self.weight.dtype)
        if self.input_scale is not None:
            flat = torch.cat([flat[:, :self.n_inputs] * self.input_scale, flat[:, self.n_inputs:]], dim=1)
        if flat.shape[0] == 0:
            return x.new_zeros(*lead, self.output_size)
        return self._measure(flat).to(x.dtype).reshape(*lead, self.output_size)

    def extra_repr(self) -> str:
        return (f"n_qubits={self.circuit_desc.n_qubits}, n_params={self.weight.numel()}, n_inputs={self.n_inputs}, "
                f"output={self.output.value!r}, wires={list(self.wires)}, diff_method={self.diff_method.value!r}, "
                f"shots={self.shots}, noisy={self.noise is not None}")
