"""Compile a circuit description into a program: fused stages, parameter groups and the gate list.

Stages (pure data; the engines in :mod:`qtrain.sim.engines` apply them):

* :class:`LayerStage` -- one fused 2x2 matrix per wire (consecutive single-qubit gates multiplied);
* :class:`MonomialStage` -- a run of fixed two-qubit gates (CNOT/CZ/SWAP chains) folded into one
  affine map of basis indices with optional phases; its 2**n index and phase tensors are built
  only when a torch path asks for them, so compiling never allocates anything the size of a state;
* :class:`DenseStage` -- one parameterised two-qubit gate (4x4 matrix).

Parameters are gathered per gate type (:class:`ParamGroup`) so one vectorised matrix call per
group evaluates every op of that type (see :mod:`qtrain.sim.tables`).

Example:
    >>> from qtrain.sim import ansatz
    >>> p = compile_program(ansatz.ry_cnot(4, blocks=2))
    >>> [type(s).__name__ for s in p.stages], p.stages[1] is p.stages[3]
    (['LayerStage', 'MonomialStage', 'LayerStage', 'MonomialStage'], True)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import torch
from torch import Tensor

from qtrain.sim.affine import AffineMap
from qtrain.sim.apply import apply_2q
from qtrain.sim.gates import Gate, GateKind
from qtrain.sim.ops import Input, Op

if TYPE_CHECKING:
    from qtrain.sim.circuit import Circuit

__all__ = ["Program", "LayerStage", "MonomialStage", "DenseStage", "Stage", "ParamGroup", "GateRef",
           "compile_program", "local_permutation"]


@dataclass(eq=False)
class LayerStage:
    wires: tuple[int, ...]
    rows: list[list[int]]  # per wire, the op rows (into the 1q table) in application order
    per_sample: bool = False
    index: Tensor | None = None  # (depth, nw) rows, identity-padded; filled by _finalize_layer


@dataclass(eq=False)
class MonomialStage:
    """``out[:, k] = phases[k] * in[:, src(k)]`` for a run of fixed two-qubit gates."""

    n: int
    ops: tuple[Op, ...]
    src: AffineMap
    phased: bool  # some gate of the run has a phase other than 1
    _cache: dict[tuple, Tensor] = field(default_factory=dict, repr=False)

    def _cached(self, key: tuple, make) -> Tensor:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def index_tensor(self, device: torch.device) -> Tensor:
        """``src`` as an int64 ``(2**n,)`` gather index on ``device`` (built once per device)."""
        return self._cached(("index", device), lambda: self.src.index_tensor(device))

    def inverse_tensor(self, device: torch.device) -> Tensor:
        """The gather index of the inverse permutation (``in[:, k] = out[:, inv[k]] / phase``)."""
        return self._cached(("inverse", device), lambda: self.src.inverse().index_tensor(device))

    def phase_tensor(self, dtype: torch.dtype, device: torch.device) -> Tensor | None:
        """``(2**n,)`` phases in ``dtype`` on ``device``, or None when every phase is 1.

        The gates applied to the all-ones vector leave exactly the phases: ``out[k] = phases[k] * 1``.
        """
        if not self.phased:
            return None

        def make() -> Tensor:
            ones = torch.ones(1, 2**self.n, dtype=dtype, device=device)
            for op in self.ops:
                ones = apply_2q(ones, self.n, op.wires, op.gate.matrix(None).to(dtype=dtype, device=device))
            return ones[0]

        return self._cached(("phases", dtype, device), make)


@dataclass(eq=False)
class DenseStage:
    wires: tuple[int, int]
    row: int
    per_sample: bool = False


Stage = LayerStage | MonomialStage | DenseStage


@dataclass(eq=False)
class ParamGroup:
    """Ops of one gate type, all shared or all per-sample, evaluated in one matrix call."""

    gate: Gate
    per_sample: bool
    ops: list[Op] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # row of each op in its table


class GateRef(NamedTuple):
    """One op of the circuit with the row of its matrix in its table (-1: a fixed two-qubit gate)."""

    op: Op
    per_sample: bool
    row: int


@dataclass(eq=False)
class Program:
    n: int
    stages: list[Stage]
    groups1: list[ParamGroup]
    groups2: list[ParamGroup]
    n_shared1: int
    n_shared2: int
    is_real: bool
    gates: list[GateRef] = field(default_factory=list)  # every op in circuit order (the gate program)
    has_dense: bool = False  # a stage the stage-wise native path runs in torch (dense 2q, phases)

    def occurrences(self) -> list[tuple[int, int, int]]:
        """(group id, op position in group, parameter slot) for every parameter that can be shifted."""
        out = []
        for gi, grp in enumerate(self.groups1 + self.groups2):
            for oi, op in enumerate(grp.ops):
                for si, p in enumerate(op.params):
                    if not isinstance(p, float):
                        out.append((gi, oi, si))
        return out


def local_permutation(gate: Gate) -> tuple[list[int], list[complex]]:
    """Source column and phase of each output row of a fixed two-qubit gate's 4x4 matrix."""
    m = gate.matrix(None).to(torch.complex128)
    nz = m.abs() > 1e-12
    if not bool((nz.sum(1) == 1).all()):  # pragma: no cover - guarded by GateKind
        raise AssertionError(f"{gate.name} is not monomial")
    col = nz.to(torch.int64).argmax(1)
    return col.tolist(), m[torch.arange(4), col].tolist()


class _Compiler:
    """Walks the ops once: single-qubit runs become layers, fixed two-qubit runs permutations."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.groups: dict[tuple[Gate, bool], ParamGroup] = {}
        self.counters = {(1, False): 0, (1, True): 0, (2, False): 0, (2, True): 0}
        self.stages: list[Stage] = []
        self.gates: list[GateRef] = []
        self.pending: dict[int, list[int]] = {}  # wire -> rows of the layer being built (-1-r: per-sample)
        self.mono: list[Op] = []
        self.mono_cache: dict[tuple, MonomialStage] = {}  # identical runs share one stage (and its tensors)

    def register(self, op: Op) -> GateRef:
        ps = any(isinstance(p, Input) for p in op.params)
        grp = self.groups.setdefault((op.gate, ps), ParamGroup(op.gate, ps))
        key = (op.gate.n_wires, ps)
        row = self.counters[key]
        self.counters[key] += 1
        grp.ops.append(op)
        grp.rows.append(row)
        return GateRef(op, ps, row)

    def add(self, op: Op) -> None:
        if op.gate.n_wires == 1:
            self.flush_mono()
            ref = self.register(op)
            self.pending.setdefault(op.wires[0], []).append(ref.row if not ref.per_sample else -1 - ref.row)
        elif op.gate.kind is GateKind.MONOMIAL:
            self.flush_layer()
            self.mono.append(op)
            ref = GateRef(op, False, -1)
        else:
            self.flush_layer()
            self.flush_mono()
            ref = self.register(op)
            self.stages.append(DenseStage((op.wires[0], op.wires[1]), ref.row, ref.per_sample))
        self.gates.append(ref)

    def flush_layer(self) -> None:
        if self.pending:
            wires = tuple(sorted(self.pending))
            self.stages.append(LayerStage(wires, [self.pending[w] for w in wires]))
            self.pending.clear()

    def flush_mono(self) -> None:
        """Fold the run of fixed two-qubit gates into one affine map (O(n) per gate, no 2**n arrays)."""
        if not self.mono:
            return
        key = tuple((op.gate, op.wires) for op in self.mono)
        if key not in self.mono_cache:
            src, phased = AffineMap.identity(self.n), False
            for op in self.mono:
                col, ph = local_permutation(op.gate)
                src = src.then_local(col, self.n - 1 - op.wires[0], self.n - 1 - op.wires[1])
                phased = phased or any(abs(p - 1) > 1e-12 for p in ph)
            self.mono_cache[key] = MonomialStage(self.n, tuple(self.mono), src, phased)
        self.stages.append(self.mono_cache[key])
        self.mono.clear()

    def finish(self, is_real: bool) -> Program:
        self.flush_layer()
        self.flush_mono()
        n_sh1 = self.counters[(1, False)]
        for st in self.stages:
            if isinstance(st, LayerStage):
                _finalize_layer(st, n_sh1)
        g1 = [g for g in self.groups.values() if g.gate.n_wires == 1]
        g2 = [g for g in self.groups.values() if g.gate.n_wires == 2]
        has_dense = any(isinstance(st, DenseStage) or (isinstance(st, MonomialStage) and st.phased)
                        for st in self.stages)
        return Program(self.n, self.stages, g1, g2, n_sh1, self.counters[(2, False)], is_real, self.gates,
                       has_dense)


def compile_program(circuit: Circuit) -> Program:
    """Fuse single-qubit runs into layers, fixed two-qubit runs into permutations.

    Costs O(ops * n) time and memory: nothing here depends on ``2**n``.
    """
    comp = _Compiler(circuit.n_qubits)
    for op in circuit.ops:
        comp.add(op)
    return comp.finish(circuit.is_real)


def _finalize_layer(st: LayerStage, n_shared: int) -> None:
    """Rows: shared r -> r; identity -> n_shared; per-sample -1-r -> n_shared + 1 + r."""
    depth = max(len(r) for r in st.rows)
    st.per_sample = any(x < 0 for r in st.rows for x in r)
    idx = torch.full((depth, len(st.rows)), n_shared, dtype=torch.int64)
    for j, rows in enumerate(st.rows):
        for d, x in enumerate(rows):
            idx[d, j] = x if x >= 0 else n_shared + 1 + (-1 - x)
    st.index = idx
