"""The public facade of the simulator: a circuit compiled for repeated evaluation.

It checks arguments, builds the parameter tables, asks :func:`~qtrain.sim.engines.choose_engine`
which engine runs each call, hands gradients to the chosen method and applies the measurement.
Everything else lives below it: program (:mod:`~qtrain.sim.program`), matrices
(:mod:`~qtrain.sim.tables`), engines (:mod:`~qtrain.sim.engines`) and gradient methods
(:mod:`~qtrain.sim.gradients`).

Example:
    >>> import torch
    >>> from qtrain.sim import ansatz
    >>> cc = ansatz.ry_cnot(3, blocks=2).compile()
    >>> p = cc.probs(torch.zeros(6))
    >>> p.shape, float(p[0, 0])
    (torch.Size([1, 8]), 1.0)
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

import torch
from torch import Tensor

from qtrain.sim import measure
from qtrain.sim.devices import check_device
from qtrain.sim.engines import EngineContext, build_engines, choose_engine, zero_state
from qtrain.sim.gradients import adjoint_run, parameter_shift_run
from qtrain.sim.memory import check_state_fits
from qtrain.sim.modes import DiffMethod, Engine
from qtrain.sim.params import prepare_arguments
from qtrain.sim.program import Program, compile_program
from qtrain.sim.tables import REAL_OF, LayerMatrices, ParamTables, Shift

if TYPE_CHECKING:
    from qtrain.sim.circuit import Circuit

__all__ = ["CompiledCircuit", "DiffMethod", "Engine"]

_COMPLEX_OF = {torch.float32: torch.complex64, torch.float64: torch.complex128,
               torch.complex64: torch.complex64, torch.complex128: torch.complex128}


class CompiledCircuit:
    """A circuit compiled for repeated evaluation. Holds no trainable state.

    Compiling costs O(ops * n) time and memory: nothing of the size of a statevector is built
    until a call has checked that its states fit (``QTRAIN_MEMORY_LIMIT_GB`` caps the memory it
    assumes).

    Args:
        circuit: the description.
        dtype: state dtype. Default: ``float32`` when every gate is real, else ``complex64``.
            A real dtype for a complex circuit is promoted to its complex counterpart.
        diff_method: ``"adjoint"`` (default), ``"backprop"`` or ``"parameter_shift"``.
        device: where states live (default CPU); ``"cuda"`` without CUDA raises one clear error.
        engine: how a run is executed on CPU with the native kernels built: ``"gates"`` (the
            whole circuit as one native gate program, gate by gate), ``"blocks"`` (shared
            single-qubit layers and CNOT/SWAP/X networks as one native block program), ``"stages"``
            (stage by stage from Python; dense two-qubit stages in torch), ``"triton"`` (fused
            Triton kernels: what ``"auto"`` runs on CUDA; on CPU tensors, Triton's slow interpreter)
            or ``"auto"`` (default, chosen per call by :meth:`engine_for`). Results agree to
            rounding; only speed differs. ``backprop`` always runs stage by stage in torch.
    """

    def __init__(self, circuit: Circuit, *, dtype: torch.dtype | None = None,
                 diff_method: str | DiffMethod = "adjoint", device: torch.device | str | None = None,
                 engine: str | Engine = "auto") -> None:
        self.circuit = circuit
        self.n_qubits = circuit.n_qubits
        self.n_params = circuit.n_params
        self.n_inputs = circuit.n_inputs
        self.diff_method = DiffMethod.parse(diff_method)
        self.engine = Engine.parse(engine)
        if dtype is not None and dtype not in REAL_OF:
            raise ValueError(f"dtype={dtype} is not supported; use float32, float64, complex64 or complex128")
        base = dtype or torch.float32
        self.dtype = base if (circuit.is_real and not base.is_complex) else _COMPLEX_OF[base]
        self.real_dtype = REAL_OF[self.dtype]
        self.device = check_device(device)
        self.program: Program = compile_program(circuit)
        self._tables = ParamTables(self.program, self.dtype, self.device)
        ctx = EngineContext(self.program, LayerMatrices(self.program, self.dtype, self.device), self.dtype,
                            self.device)
        self._engines = build_engines(ctx, self.engine)

    def engine_for(self, batch: int) -> Engine:
        """The engine a run over ``batch`` samples uses (``TRITON`` on CUDA with Triton installed,
        ``STAGES`` on other devices or without native kernels)."""
        return choose_engine(self._engines, self.engine, batch).kind

    # -- running --------------------------------------------------------------------------
    def _prepare(self, weights: Tensor | None, inputs: Tensor | None) -> tuple[Tensor, Tensor | None, int]:
        weights, inputs, b = prepare_arguments(weights, inputs, n_params=self.n_params, n_inputs=self.n_inputs,
                                               dtype=self.real_dtype, device=self.device)
        check_state_fits(self.n_qubits, b, self.dtype, self.device, copies=4)
        return weights, inputs, b

    def run_nograd(self, weights: Tensor, inputs: Tensor | None, b: int, shift: Shift | None = None) -> Tensor:
        """Final flat state ``(b, 2**n)`` without a graph (``shift``: one parameter occurrence shifted)."""
        with torch.no_grad():
            eng = choose_engine(self._engines, self.engine, b)
            return eng.forward(zero_state(eng.ctx, b), eng.operands(self._tables.build(weights, inputs, shift)))

    def _run_flat(self, weights: Tensor, inputs: Tensor | None, b: int) -> Tensor:
        if not torch.is_grad_enabled():
            return self.run_nograd(weights, inputs, b)
        backprop = self.diff_method is DiffMethod.BACKPROP
        eng = choose_engine(self._engines, self.engine, b, differentiable=backprop)
        operands = eng.operands(self._tables.build(weights, inputs))
        if backprop:  # autograd records the torch engine's forward
            return eng.forward(zero_state(eng.ctx, b), operands)
        return adjoint_run(eng, b, operands)

    def _measured(self, fn: Callable[[Tensor], Tensor], weights: Tensor | None, inputs: Tensor | None,
                  *, stochastic: bool = False) -> Tensor:
        w, x, b = self._prepare(weights, inputs)
        if self.diff_method is DiffMethod.PARAMETER_SHIFT:
            return parameter_shift_run(self, fn, w, x, b)
        wants_grad = torch.is_grad_enabled() and (w.requires_grad or (x is not None and x.requires_grad))
        if stochastic and wants_grad:
            raise ValueError(
                "finite-shot estimates are not differentiable with diff_method="
                f"{self.diff_method.value!r}; compile with diff_method='parameter_shift' to train with shots"
            )
        return fn(self._run_flat(w, x, b))

    # -- measurements ---------------------------------------------------------------------
    def state(self, weights: Tensor | None = None, inputs: Tensor | None = None) -> Tensor:
        """Final state ``(B, 2, ..., 2)`` (one axis per qubit)."""
        w, x, b = self._prepare(weights, inputs)
        if self.diff_method is DiffMethod.PARAMETER_SHIFT and torch.is_grad_enabled() and w.requires_grad:
            raise ValueError("the state has no parameter-shift gradient; measure probs or expval instead")
        return self._run_flat(w, x, b).view(b, *([2] * self.n_qubits))

    def probs(self, weights: Tensor | None = None, inputs: Tensor | None = None, *,
              shots: int | None = None, generator: torch.Generator | None = None) -> Tensor:
        """Basis-state probabilities ``(B, 2**n)``; with ``shots``, the finite-shot estimate."""
        fn = measure.probs_fn(shots, generator)
        return self._measured(fn, weights, inputs, stochastic=shots is not None)

    def marginal_probs(self, weights: Tensor | None, wires: Sequence[int], inputs: Tensor | None = None, *,
                       shots: int | None = None, generator: torch.Generator | None = None) -> Tensor:
        """Probabilities of the chosen wires ``(B, 2**len(wires))``, first wire most significant."""
        wires = measure.check_wires(wires, self.n_qubits)
        inner = measure.probs_fn(shots, generator)
        n = self.n_qubits

        def fn(state: Tensor) -> Tensor:
            return measure.marginal(inner(state), n, wires)

        return self._measured(fn, weights, inputs, stochastic=shots is not None)

    def expval(self, weights: Tensor | None = None, wires: Sequence[int] | None = None,
               inputs: Tensor | None = None, *, observable: str = "Z",
               shots: int | None = None, generator: torch.Generator | None = None) -> Tensor:
        """Single-qubit Pauli expectation values ``(B, len(wires))`` (default: every wire)."""
        wires = measure.check_wires(range(self.n_qubits) if wires is None else wires, self.n_qubits)
        fn = measure.expval_fn(self.n_qubits, wires, observable, shots, generator)
        return self._measured(fn, weights, inputs, stochastic=shots is not None)

    def sample(self, weights: Tensor | None, shots: int, inputs: Tensor | None = None, *,
               generator: torch.Generator | None = None) -> Tensor:
        """``shots`` measured bitstrings per sample: int64 ``(B, shots, n)``, qubit 0 first."""
        with torch.no_grad():
            p = self.probs(weights, inputs)
        return measure.sample_bits(p, self.n_qubits, shots, generator)
