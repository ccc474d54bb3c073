"""The compiled executor: matrices from parameters, stages over the state, measurements, gradients.

Example:
    >>> import torch
    >>> from qtrain.sim import ansatz
    >>> cc = ansatz.ry_cnot(3, blocks=2).compile()
    >>> p = cc.probs(torch.zeros(6))
    >>> p.shape, float(p[0, 0])
    (torch.Size([1, 8]), 1.0)
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from qtrain.choices import ChoiceEnum, argument
from qtrain.sim import measure
from qtrain.sim.circuit import Circuit, Input
from qtrain.sim.memory import check_state_fits
from qtrain.sim.params import prepare_arguments
from qtrain.sim.native_exec import (block_program, gate_program_adjoint, gate_program_forward, native_adjoint,
                                    native_available, native_forward, native_ok)
from qtrain.sim.program import DenseStage, LayerStage, Program, compile_program

__all__ = ["CompiledCircuit", "DiffMethod", "Engine"]


@argument("diff_method")
class DiffMethod(ChoiceEnum):
    """How gradients are computed."""

    BACKPROP = "backprop"  # torch autograd through every gate
    ADJOINT = "adjoint"  # reverse pass recomputing states: memory independent of depth
    PARAMETER_SHIFT = "parameter_shift"  # hardware-compatible, works with shots


_REAL = {torch.float32: torch.float32, torch.float64: torch.float64,
         torch.complex64: torch.float32, torch.complex128: torch.float64}
_COMPLEX = {torch.float32: torch.complex64, torch.float64: torch.complex128,
            torch.complex64: torch.complex64, torch.complex128: torch.complex128}


@argument("engine")
class Engine(ChoiceEnum):
    """How a run is executed (see :class:`CompiledCircuit`); results agree, speed differs."""

    AUTO = "auto"
    GATES = "gates"  # one native gate program: every gate in C, one sample's state at a time
    BLOCKS = "blocks"  # one native block program: fused layers + linear permutations in C
    STAGES = "stages"  # stage by stage from Python (native layer kernels, torch elsewhere)


class CompiledCircuit:
    """A circuit compiled for repeated evaluation. Holds no trainable state.

    Args:
        circuit: the description.
        dtype: state dtype. Default: ``float32`` when every gate is real, else ``complex64``.
            A real dtype for a complex circuit is promoted to its complex counterpart.
        diff_method: ``"adjoint"`` (default), ``"backprop"`` or ``"parameter_shift"``.
        device: where states live (default CPU).
        engine: how a run is executed on CPU with the native kernels built: ``"gates"`` (the
            whole circuit as one native gate program, gate by gate), ``"blocks"`` (shared
            single-qubit layers and CNOT/SWAP/X networks as one native block program), ``"stages"``
            (stage by stage from Python; dense two-qubit stages in torch) or ``"auto"`` (default,
            chosen per call by :meth:`engine_for`). Results agree to rounding; only speed differs.
            ``backprop`` always runs stage by stage in torch.
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
        if dtype is not None and dtype not in _REAL:
            raise ValueError(f"dtype={dtype} is not supported; use float32, float64, complex64 or complex128")
        base = dtype or torch.float32
        self.dtype = base if (circuit.is_real and not base.is_complex) else _COMPLEX[base]
        self.real_dtype = _REAL[self.dtype]
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.program: Program = compile_program(circuit)
        for st in {id(s): s for s in self.program.stages}.values():  # shared stages once
            for name in ("index", "inverse", "phases"):
                t = getattr(st, name, None)
                if isinstance(t, Tensor):
                    setattr(st, name, t.to(self.device))
        groups = self.program.groups1 + self.program.groups2
        self._group_index = [self._index_group(g) for g in groups]
        self._group_rows = [torch.tensor(g.rows, device=self.device) for g in groups]
        self._group_full = [self._covers_table(g, groups) for g in groups]
        self._layer_batches = self._batch_layers()
        self._layer_pads = {k: bool((idx == self.program.n_shared1).any())
                            for k, (_, idx, _) in self._layer_batches.items()}
        shared_layers = not any(per_sample for per_sample, _ in self._layer_batches)
        self._blocks = block_program(self.program) if shared_layers and self.device.type == "cpu" else None
        if self.engine is Engine.BLOCKS and self._blocks is None and native_available():
            raise ValueError(
                "engine='blocks' runs circuits of shared single-qubit gates and CNOT/SWAP/X networks only; "
                "this one has per-sample inputs, parameterised two-qubit gates or phases: use engine='auto'"
            )
        if self.engine in (Engine.AUTO, Engine.GATES):
            self._gp_ops = torch.tensor(self.program.gate_ops, dtype=torch.int32).reshape(-1, 4)
            c2 = torch.tensor(np.stack(self.program.const2)) if self.program.const2 else torch.zeros(0, 4, 4)
            self._gp_const = (c2.real if not self.dtype.is_complex else c2).to(self.dtype).contiguous()

    def engine_for(self, batch: int) -> Engine:
        """The engine a run over ``batch`` samples uses (``STAGES`` off CPU or without native kernels)."""
        if self.device.type != "cpu" or not native_available():
            return Engine.STAGES
        if self.engine is not Engine.AUTO:
            return self.engine
        if _use_gate_program(self.program, batch):
            return Engine.GATES
        return Engine.BLOCKS if self._blocks is not None else Engine.STAGES

    def _covers_table(self, grp, groups) -> bool:
        """True when ``grp`` is the only group of its table and its rows are 0..len-1 in order."""
        same = [g for g in groups if g.gate.n_wires == grp.gate.n_wires and g.per_sample == grp.per_sample]
        return len(same) == 1 and grp.rows == list(range(len(grp.rows)))

    # -- parameters -> stage matrices -----------------------------------------------------
    def _index_group(self, grp) -> dict[str, Tensor]:
        """Precomputed gather indices of a group's parameter sources."""
        shape = (len(grp.ops), grp.gate.n_params)
        widx = torch.zeros(shape, dtype=torch.int64)
        xidx = torch.zeros(shape, dtype=torch.int64)
        const = torch.zeros(shape, dtype=self.real_dtype)
        xscale = torch.zeros(shape, dtype=self.real_dtype)
        wmask = torch.zeros(shape, dtype=torch.bool)
        for i, op in enumerate(grp.ops):
            for j, p in enumerate(op.params):
                if isinstance(p, Input):
                    xidx[i, j], xscale[i, j] = p.index, p.scale
                elif isinstance(p, int):
                    widx[i, j], wmask[i, j] = p, True
                else:
                    const[i, j] = p
        d = dict(widx=widx, xidx=xidx, const=const, xscale=xscale, wmask=wmask)
        return {k: v.to(self.device) for k, v in d.items()}

    def _values(self, gi: int, grp, weights: Tensor, inputs: Tensor | None) -> Tensor:
        """Parameter values ``(n_ops, n_params)``, or ``(B, n_ops, n_params)`` for per-sample ops."""
        ix = self._group_index[gi]
        vals = torch.where(ix["wmask"], weights[ix["widx"]] if weights.numel() else ix["const"], ix["const"])
        if grp.per_sample:
            vals = vals + inputs[:, ix["xidx"]] * ix["xscale"]  # type: ignore[index]
        return vals

    def _tables(self, weights: Tensor, inputs: Tensor | None,
                shift: tuple[int, int, int, float] | None = None) -> tuple[list[Tensor], list[Tensor]]:
        """Matrices of all 1q and 2q ops: ``[shared, per_sample]`` tables for each arity."""
        out: list[list[Tensor]] = []
        groups = self.program.groups1 + self.program.groups2
        offset = 0
        for arity, glist, n_sh in ((1, self.program.groups1, self.program.n_shared1),
                                    (2, self.program.groups2, self.program.n_shared2)):
            d = 2**arity
            b = inputs.shape[0] if inputs is not None else 1
            n_ps = sum(len(g.ops) for g in glist if g.per_sample)
            # a group covering its whole table is the table; otherwise groups scatter into zeros
            shared: Tensor | None = None
            ps: Tensor | None = None
            for gi, grp in enumerate(glist):
                vals = self._values(offset + gi, grp, weights, inputs)
                if shift is not None and shift[0] == offset + gi:
                    vals = vals.clone()
                    vals[..., shift[1], shift[2]] += shift[3]
                m = grp.gate.matrix(vals).to(self.dtype).to(self.device)
                rows = self._group_rows[offset + gi]
                if self._group_full[offset + gi]:  # the whole table: no scatter needed
                    full = m.expand(b, len(grp.ops), d, d) if grp.per_sample else m.expand(len(grp.ops), d, d)
                    if grp.per_sample:
                        ps = full
                    else:
                        shared = full
                elif grp.per_sample:
                    ps = (ps if ps is not None else self._zeros(b, n_ps, d, d)).index_copy(1, rows, m)
                else:
                    base = shared if shared is not None else self._zeros(n_sh, d, d)
                    shared = base.index_copy(0, rows, m.expand(len(grp.ops), d, d))
            offset += len(glist)
            out.append([shared if shared is not None else self._zeros(n_sh, d, d),
                        ps if ps is not None else self._zeros(b, n_ps, d, d)])
        assert offset == len(groups)
        return out[0], out[1]

    def _zeros(self, *shape: int) -> Tensor:
        return torch.zeros(*shape, dtype=self.dtype, device=self.device)

    def stage_tensors(self, weights: Tensor, inputs: Tensor | None,
                      shift: tuple[int, int, int, float] | None = None) -> list[Tensor | None]:
        """One matrix tensor per stage (None for fixed permutation stages)."""
        (sh1, ps1), (sh2, ps2) = self._tables(weights, inputs, shift)
        out: list[Tensor | None] = [None] * len(self.program.stages)
        for key, (ids, _index, sizes) in self._layer_batches.items():
            for i, part in zip(ids, self._layer_mats(key, sh1, ps1).split(sizes, dim=-3)):
                out[i] = part
        for i, st in enumerate(self.program.stages):
            if isinstance(st, DenseStage):
                out[i] = ps2[:, st.row] if st.per_sample else sh2[st.row]
        return out

    def _layer_mats(self, key: tuple[bool, int], sh1: Tensor, ps1: Tensor) -> Tensor:
        """Fused matrices of all layer stages of one (per-sample, depth) group, in stage order:
        ``(wires, 2, 2)`` or per-sample ``(B, wires, 2, 2)``."""
        index = self._layer_batches[key][1]
        if not key[0] and bool(self._layer_pads[key]) is False:
            tab = sh1  # no identity padding referenced: gather straight from the table
        else:
            tab = torch.cat([sh1, torch.eye(2, dtype=self.dtype, device=self.device)[None]])
        if key[0]:  # (B, depth, wires of all these stages, 2, 2)
            m = torch.cat([tab.expand(ps1.shape[0], *tab.shape), ps1], 1)[:, index]
        else:
            m = tab[index]
        acc = m.select(-4, 0)
        for dd in range(1, m.shape[-4]):
            acc = m.select(-4, dd) @ acc
        return acc

    def _packed_layers(self, weights: Tensor, shift: tuple[int, int, int, float] | None = None) -> Tensor:
        """The block program's ``(total_nw, 2, 2)`` layer matrices."""
        (sh1, ps1), _ = self._tables(weights, None, shift)
        if not self._layer_batches:
            return torch.zeros(0, 2, 2, dtype=self.dtype, device=self.device)
        if len(self._layer_batches) == 1:
            return self._layer_mats(next(iter(self._layer_batches)), sh1, ps1).contiguous()
        parts: list[tuple[int, Tensor]] = []  # layers of several depths: back into stage order
        for key, (ids, _index, sizes) in self._layer_batches.items():
            parts.extend(zip(ids, self._layer_mats(key, sh1, ps1).split(sizes, dim=-3)))
        return torch.cat([p for _, p in sorted(parts, key=lambda t: t[0])])

    def _batch_layers(self) -> dict[tuple[bool, int], tuple[list[int], Tensor, list[int]]]:
        """Layer stages grouped by (per-sample, depth): one gather and one split per group."""
        groups: dict[tuple[bool, int], tuple[list[int], list[Tensor], list[int]]] = {}
        for i, st in enumerate(self.program.stages):
            if isinstance(st, LayerStage):
                assert st.index is not None
                ids, idx, sizes = groups.setdefault((st.per_sample, st.index.shape[0]), ([], [], []))
                ids.append(i)
                idx.append(st.index)
                sizes.append(st.index.shape[1])
        return {k: (ids, torch.cat(idx, 1).to(self.device), sizes) for k, (ids, idx, sizes) in groups.items()}

    # -- running --------------------------------------------------------------------------
    def _prepare(self, weights: Tensor | None, inputs: Tensor | None) -> tuple[Tensor, Tensor | None, int]:
        weights, inputs, b = prepare_arguments(weights, inputs, n_params=self.n_params, n_inputs=self.n_inputs,
                                               dtype=self.real_dtype, device=self.device)
        check_state_fits(self.n_qubits, b, self.dtype, self.device, copies=4)
        return weights, inputs, b

    def _zero_state(self, b: int) -> Tensor:
        s = torch.zeros(b, 2**self.n_qubits, dtype=self.dtype, device=self.device)
        s[:, 0] = 1
        return s

    def _gp_tables(self, weights: Tensor, inputs: Tensor | None,
                   shift: tuple[int, int, int, float] | None = None) -> list[Tensor]:
        (sh1, ps1), (sh2, ps2) = self._tables(weights, inputs, shift)
        return [t.contiguous() for t in (sh1, ps1, sh2, ps2)]

    def run_nograd(self, weights: Tensor, inputs: Tensor | None, b: int,
                   shift: tuple[int, int, int, float] | None = None) -> Tensor:
        """Final flat state without a graph (``shift``: one parameter occurrence shifted)."""
        with torch.no_grad():
            s0 = self._zero_state(b)
            engine = self.engine_for(b)
            if engine is Engine.GATES:
                return gate_program_forward(s0, self._gp_ops, self._gp_tables(weights, inputs, shift), self._gp_const)
            if engine is Engine.BLOCKS:
                return self._blocks.forward(s0, self._packed_layers(weights, shift))
            return run_nograd(self.program, s0, self.stage_tensors(weights, inputs, shift))

    def _run_flat(self, weights: Tensor, inputs: Tensor | None, b: int) -> Tensor:
        if not torch.is_grad_enabled():
            return self.run_nograd(weights, inputs, b)
        engine = self.engine_for(b) if self.diff_method is DiffMethod.ADJOINT else Engine.STAGES
        if engine is Engine.GATES:
            return _GateProgramRun.apply(self, b, *self._gp_tables(weights, inputs))
        if engine is Engine.BLOCKS:
            return _BlockRun.apply(self, b, self._packed_layers(weights))
        tensors = self.stage_tensors(weights, inputs)
        s0 = self._zero_state(b)
        if self.diff_method is DiffMethod.BACKPROP:
            return _forward(self.program, s0, tensors)
        return _AdjointRun.apply(self.program, s0, *tensors)

    def _measured(self, fn: Callable[[Tensor], Tensor], weights: Tensor | None, inputs: Tensor | None,
                  *, stochastic: bool = False) -> Tensor:
        w, x, b = self._prepare(weights, inputs)
        if self.diff_method is DiffMethod.PARAMETER_SHIFT:
            from qtrain.sim.shift import parameter_shift_run

            return parameter_shift_run(self, fn, w, x, b)
        wants_grad = torch.is_grad_enabled() and (w.requires_grad or (x is not None and x.requires_grad))
        if stochastic and wants_grad:
            raise ValueError(
                "finite-shot estimates are not differentiable with diff_method="
                f"{self.diff_method.value!r}; compile with diff_method='parameter_shift' to train with shots"
            )
        return fn(self._run_flat(w, x, b))

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


def _forward(program: Program, state: Tensor, tensors: Sequence[Tensor | None]) -> Tensor:
    """Torch path: differentiable by autograd (the ``backprop`` method)."""
    for st, t in zip(program.stages, tensors):
        state = st.apply(state, program.n, t)
    return state


def run_nograd(program: Program, state: Tensor, tensors: Sequence[Tensor | None]) -> Tensor:
    """Forward without a graph: native kernels on CPU when built, else torch."""
    with torch.no_grad():
        if native_ok(state):
            return native_forward(program, state, [None if t is None else t.detach() for t in tensors])
        return _forward(program, state, tensors)


# The gate program runs gate by gate with plain C loops, one sample's state at a time: best for
# circuits whose stages would otherwise run in torch (parameterised two-qubit gates, phased
# permutations) up to this many qubits, and for any circuit while batch * 2**n is this small (call
# overhead dominates). Larger real circuits (Ry layers + CNOT networks) run stage by stage on the
# fused, vectorised layer kernels. Measured here on 2 cores (benchmarks/bench_sim.py workloads).
GATE_PROGRAM_MAX_QUBITS = 14
GATE_PROGRAM_MAX_AMPLITUDES = 2**11


def _use_gate_program(program: Program, batch: int) -> bool:
    if program.has_dense and program.n <= GATE_PROGRAM_MAX_QUBITS:
        return True
    return batch * 2**program.n <= GATE_PROGRAM_MAX_AMPLITUDES


class _GateProgramRun(torch.autograd.Function):
    """Matrix tables -> final state in one native call; backward is one native adjoint walk."""

    @staticmethod
    def forward(ctx, cc: CompiledCircuit, b: int, *tables: Tensor) -> Tensor:  # type: ignore[override]
        out = gate_program_forward(cc._zero_state(b), cc._gp_ops, list(tables), cc._gp_const)
        ctx.cc = cc
        ctx.save_for_backward(out, *tables)
        return out

    @staticmethod
    def backward(ctx, g: Tensor):  # type: ignore[override]
        cc: CompiledCircuit = ctx.cc
        psi, *tables = ctx.saved_tensors
        wanted = [ctx.needs_input_grad[2 + i] and t.numel() > 0 for i, t in enumerate(tables)]
        grads = gate_program_adjoint(psi, g, cc._gp_ops, tables, cc._gp_const, wanted)
        return (None, None, *grads)


class _BlockRun(torch.autograd.Function):
    """Packed layer matrices -> final state through the native block program, and back."""

    @staticmethod
    def forward(ctx, cc: CompiledCircuit, b: int, packed: Tensor) -> Tensor:  # type: ignore[override]
        out = cc._blocks.forward(cc._zero_state(b), packed)
        ctx.cc = cc
        ctx.save_for_backward(out, packed)
        return out

    @staticmethod
    def backward(ctx, g: Tensor):  # type: ignore[override]
        out, packed = ctx.saved_tensors
        return None, None, ctx.cc._blocks.adjoint(out, g, packed)


class _AdjointRun(torch.autograd.Function):
    """Stage matrices -> final state; backward walks the stages in reverse undoing each one."""

    @staticmethod
    def forward(ctx, program: Program, s0: Tensor, *tensors: Tensor | None) -> Tensor:  # type: ignore[override]
        out = run_nograd(program, s0, tensors)
        ctx.program = program
        ctx.save_for_backward(out, *[t if t is not None else torch.empty(0) for t in tensors])
        ctx.is_none = [t is None for t in tensors]
        return out

    @staticmethod
    def backward(ctx, g: Tensor):  # type: ignore[override]
        program: Program = ctx.program
        psi, *saved = ctx.saved_tensors
        tensors = [None if none else t for none, t in zip(ctx.is_none, saved)]
        if native_ok(psi):
            with torch.no_grad():
                g0, grads = native_adjoint(program, psi, g, tensors)
            return (None, g0, *grads)
        grads: list[Tensor | None] = [None] * len(saved)
        with torch.no_grad():
            g = g.contiguous()
            for i in reversed(range(len(program.stages))):
                psi, g, grads[i] = program.stages[i].adjoint(psi, g, program.n, tensors[i])
        return (None, g, *grads)
