"""Compile on first use: the executors of one circuit, keyed by where and how they run.

A module that holds a circuit (the Quantum-Train generator, ``QuantumLayer``, ``QCNN``) keeps one
:class:`CompileCache` instead of its own compile-and-check code. The cache compiles the circuit
for the device and precision of the module's weights when they are first used (or moved), keeps
one executor per ``(device, dtype, diff_method, engine)``, and is neither a buffer nor part of
``state_dict``. Pickles and deep copies carry only the description: compiled programs hold index
tensors and native plans tied to a process and a device, so a copy recompiles on first use.

Example:
    >>> import torch
    >>> from qtrain.sim import ansatz
    >>> cache = CompileCache(ansatz.ry_cnot(3, blocks=1), diff_method="adjoint")
    >>> w = torch.zeros(3)
    >>> cache.get(w) is cache.get(w), len(cache)
    (True, 1)
    >>> cache.get(w.double()).real_dtype, len(cache)
    (torch.float64, 2)
"""
from __future__ import annotations

from typing import Any, Union

import torch
from torch import Tensor

from qtrain.sim import Circuit, CompiledCircuit, DensityMatrixCircuit, DiffMethod, Engine, NoiseModel

__all__ = ["CompileCache", "Executor"]

Executor = Union[CompiledCircuit, DensityMatrixCircuit]
"""What :meth:`CompileCache.get` returns: a statevector program, or a density-matrix one when noisy."""


class CompileCache:
    """The compiled executors of one circuit description, built on first use and reused.

    Args:
        circuit: the description (no trainable state).
        diff_method: default gradient method of the executors (``"adjoint"``, ``"backprop"``,
            ``"parameter_shift"``); :meth:`get` may ask for another.
        engine: default engine (``"auto"``, ``"gates"``, ``"blocks"``, ``"stages"``).
        noise: a noise model: executors are :class:`DensityMatrixCircuit` (backprop gradients)
            instead of compiled statevector programs.
    """

    def __init__(self, circuit: Circuit, diff_method: str | DiffMethod = "adjoint", engine: str | Engine = "auto",
                 noise: NoiseModel | None = None) -> None:
        if not isinstance(circuit, Circuit):
            raise ValueError(f"circuit={circuit!r} must be a qtrain.sim.Circuit")
        self.circuit = circuit
        self.diff_method = DiffMethod.parse(diff_method)
        self.engine = Engine.parse(engine)
        self.noise = noise
        self._executors: dict[tuple[Any, ...], Executor] = {}

    def get(self, like: Tensor, diff_method: str | DiffMethod | None = None,
            engine: str | Engine | None = None) -> Executor:
        """The executor for the device and precision of ``like`` (the module's weights).

        float64 weights get a float64/complex128 executor, any other dtype the default
        float32/complex64 one.
        """
        method = self.diff_method if diff_method is None else DiffMethod.parse(diff_method)
        eng = self.engine if engine is None else Engine.parse(engine)
        f64 = like.dtype == torch.float64
        key = (like.device, f64, method, eng)
        ex = self._executors.get(key)
        if ex is None:
            ex = self._executors[key] = self._build(like.device, f64, method, eng)
        return ex

    def _build(self, device: torch.device, f64: bool, method: DiffMethod, engine: Engine) -> Executor:
        with torch.inference_mode(False):  # its index tensors must also serve later autograd calls
            if self.noise is not None:
                cdt = torch.complex128 if f64 else torch.complex64
                return DensityMatrixCircuit(self.circuit, self.noise, dtype=cdt, device=device)
            return self.circuit.compile(diff_method=method.value, dtype=torch.float64 if f64 else None,
                                        device=device, engine=engine.value)

    def clear(self) -> None:
        """Drop every compiled executor (they are rebuilt on the next :meth:`get`)."""
        self._executors.clear()

    def __len__(self) -> int:
        return len(self._executors)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_executors"] = {}  # pickles and deep copies recompile on first use
        return state

    def __repr__(self) -> str:
        return (f"CompileCache({self.circuit!r}, diff_method={self.diff_method.value!r}, "
                f"engine={self.engine.value!r}, noisy={self.noise is not None}, compiled={len(self)})")
