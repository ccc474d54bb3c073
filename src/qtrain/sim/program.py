"""Compile a :class:`~qtrain.sim.circuit.Circuit` into stages and evaluate their matrices.

Stages:

* :class:`LayerStage` -- one fused 2x2 matrix per wire (consecutive single-qubit gates multiplied);
* :class:`MonomialStage` -- a run of fixed two-qubit gates (CNOT/CZ/SWAP chains) folded into one
  precomputed index permutation with optional phases;
* :class:`DenseStage` -- one parameterised two-qubit gate (4x4 matrix).

Parameters are gathered per gate type in one vectorised matrix call per forward pass.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from qtrain.sim.apply import apply_2q, apply_layer, apply_permutation, layer_adjoint, twoq_adjoint
from qtrain.sim.circuit import Circuit, Input, Op
from qtrain.sim.gates import Gate, GateKind

__all__ = ["Program", "LayerStage", "MonomialStage", "DenseStage", "compile_program"]


@dataclass
class LayerStage:
    wires: tuple[int, ...]
    rows: list[list[int]]  # per wire, the op rows (into the 1q table) in application order
    per_sample: bool = False
    index: Tensor | None = None  # (depth, nw) rows, identity-padded; filled by finalize

    def apply(self, state: Tensor, n: int, mats: Tensor) -> Tensor:
        return apply_layer(state, n, self.wires, mats)

    def adjoint(self, psi: Tensor, g: Tensor, n: int, mats: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        return layer_adjoint(psi, g, n, self.wires, mats)


@dataclass
class MonomialStage:
    index: Tensor  # out[:, k] = phases[k] * in[:, index[k]]
    phases: Tensor | None
    inverse: Tensor = field(init=False)

    def __post_init__(self) -> None:
        self.inverse = torch.empty_like(self.index)
        self.inverse[self.index] = torch.arange(self.index.numel(), dtype=self.index.dtype, device=self.index.device)

    def apply(self, state: Tensor, n: int, _: Tensor | None = None) -> Tensor:
        ph = None if self.phases is None else self.phases.to(state.dtype)
        return apply_permutation(state, self.index, ph)

    def undo(self, state: Tensor) -> Tensor:
        if self.phases is not None:
            ph = self.phases.to(state.dtype)
            state = state * (ph.conj() if ph.is_complex() else ph)
        return state.index_select(1, self.inverse)

    def adjoint(self, psi: Tensor, g: Tensor, n: int, _: Tensor | None = None) -> tuple[Tensor, Tensor, None]:
        return self.undo(psi), self.undo(g), None


@dataclass
class DenseStage:
    wires: tuple[int, int]
    row: int
    per_sample: bool = False

    def apply(self, state: Tensor, n: int, mat: Tensor) -> Tensor:
        return apply_2q(state, n, self.wires, mat)

    def adjoint(self, psi: Tensor, g: Tensor, n: int, mat: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        return twoq_adjoint(psi, g, n, self.wires, mat)


Stage = LayerStage | MonomialStage | DenseStage


@dataclass
class _Group:
    """Ops of one gate type, all shared or all per-sample, evaluated in one matrix call."""

    gate: Gate
    per_sample: bool
    ops: list[Op] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # row of each op in its table


def _monomial(n: int, op: Op, k: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Source index and phase (None when all phases are 1) of a fixed gate on basis states ``k``.

    Index arithmetic runs in NumPy: one-off work on 2**n integers, kept off torch's thread pool.
    """
    m = op.gate.matrix(None).to(torch.complex128).numpy()
    nz = np.abs(m) > 1e-12
    if not bool((nz.sum(1) == 1).all()):  # pragma: no cover - guarded by GateKind
        raise AssertionError(f"{op.gate.name} is not monomial")
    col = nz.argmax(1)
    ph = m[np.arange(4), col]
    s0, s1 = n - 1 - op.wires[0], n - 1 - op.wires[1]
    local = ((k >> s0) & 1) * 2 + ((k >> s1) & 1)
    src_local = col[local]
    src = k & ~((1 << s0) | (1 << s1))
    src |= ((src_local >> 1) << s0) | ((src_local & 1) << s1)
    return src, None if bool((ph == 1).all()) else ph[local]


GP_CONTROLLED = 8  # gate-program flag: a diag(I, U) matrix, applied (and differentiated) as U only


@dataclass
class Program:
    n: int
    stages: list[Stage]
    groups1: list[_Group]
    groups2: list[_Group]
    n_shared1: int
    n_shared2: int
    is_real: bool
    # the gate program (see native ``prog_forward``): one (table, wire0, wire1, row) per op in
    # circuit order; tables 0/1 shared/per-sample 2x2, 2/3 shared/per-sample 4x4, 4 constant 4x4
    gate_ops: list[tuple[int, int, int, int]] = field(default_factory=list)
    const2: list[np.ndarray] = field(default_factory=list)  # complex128 4x4 of fixed 2q gates
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


def _flush_layer(n: int, pending: dict[int, list[int]], stages: list[Stage]) -> None:
    if pending:
        wires = tuple(sorted(pending))
        stages.append(LayerStage(wires, [pending[w] for w in wires]))
        pending.clear()


def _flush_mono(n: int, mono: list[Op], stages: list[Stage], cache: dict[tuple, MonomialStage]) -> None:
    """Fold a run of fixed two-qubit gates into one permutation; identical runs share tensors."""
    if not mono:
        return
    key = tuple((op.gate.name, op.wires) for op in mono)
    if key in cache:
        stages.append(cache[key])
        mono.clear()
        return
    k = np.arange(2**n, dtype=np.int64)
    index, phases = k, None
    for op in mono:  # compose: out2[k] = ph2[k] * ph1[p2[k]] * in[p1[p2[k]]]
        p2, ph2 = _monomial(n, op, k)
        index = index[p2]
        if phases is not None:
            phases = phases[p2]
        if ph2 is not None:
            phases = ph2 if phases is None else ph2 * phases
    mono.clear()
    t_index = torch.from_numpy(index)
    if phases is None or bool((phases == 1).all()):
        stage = MonomialStage(t_index, None)
    elif bool((phases.imag == 0).all()):
        stage = MonomialStage(t_index, torch.from_numpy(phases.real.copy()))
    else:
        stage = MonomialStage(t_index, torch.from_numpy(phases))
    cache[key] = stage
    stages.append(stage)


def compile_program(circuit: Circuit) -> Program:
    """Fuse single-qubit runs into layers, fixed two-qubit runs into permutations."""
    n = circuit.n_qubits
    groups: dict[tuple[str, bool], _Group] = {}
    counters = {(1, False): 0, (1, True): 0, (2, False): 0, (2, True): 0}
    stages: list[Stage] = []
    pending: dict[int, list[int]] = {}
    pending_ps: set[int] = set()
    mono: list[Op] = []
    cache: dict[tuple, MonomialStage] = {}
    gate_ops: list[tuple[int, int, int, int]] = []
    const2: list[np.ndarray] = []
    const_rows: dict[str, int] = {}

    def register(op: Op) -> tuple[int, bool]:
        ps = any(isinstance(p, Input) for p in op.params)
        grp = groups.setdefault((op.gate.name, ps), _Group(op.gate, ps))
        key = (op.gate.n_wires, ps)
        row = counters[key]
        counters[key] += 1
        grp.ops.append(op)
        grp.rows.append(row)
        return row, ps

    for op in circuit.ops:
        w1 = op.wires[1] if len(op.wires) > 1 else 0
        if op.gate.n_wires == 1:
            _flush_mono(n, mono, stages, cache)
            row, ps = register(op)
            gate_ops.append((int(ps), op.wires[0], 0, row))
            pending.setdefault(op.wires[0], []).append(row if not ps else -1 - row)
            if ps:
                pending_ps.add(op.wires[0])
        elif op.gate.kind is GateKind.MONOMIAL:
            _flush_layer(n, pending, stages)
            mono.append(op)
            if op.gate.name not in const_rows:
                const_rows[op.gate.name] = len(const2)
                const2.append(op.gate.matrix(None).to(torch.complex128).numpy())
            m = const2[const_rows[op.gate.name]]
            ctrl = bool(np.allclose(m[:2, :2], np.eye(2)) and not m[:2, 2:].any() and not m[2:, :2].any())
            gate_ops.append((4 + (GP_CONTROLLED if ctrl else 0), op.wires[0], w1, const_rows[op.gate.name]))
        else:
            _flush_layer(n, pending, stages)
            _flush_mono(n, mono, stages, cache)
            row, ps = register(op)
            stages.append(DenseStage((op.wires[0], op.wires[1]), row, ps))
            gate_ops.append((2 + int(ps) + (GP_CONTROLLED if op.gate.controlled else 0), op.wires[0], w1, row))
    _flush_layer(n, pending, stages)
    _flush_mono(n, mono, stages, cache)

    n_sh1 = counters[(1, False)]
    for st in stages:
        if isinstance(st, LayerStage):
            _finalize_layer(st, n_sh1)
    g1 = [g for g in groups.values() if g.gate.n_wires == 1]
    g2 = [g for g in groups.values() if g.gate.n_wires == 2]
    has_dense = any(isinstance(st, DenseStage) or (isinstance(st, MonomialStage) and st.phases is not None)
                    for st in stages)
    return Program(n, stages, g1, g2, n_sh1, counters[(2, False)], circuit.is_real, gate_ops, const2, has_dense)


def _finalize_layer(st: LayerStage, n_shared: int) -> None:
    """Rows: shared r -> r; identity -> n_shared; per-sample -1-r -> n_shared + 1 + r."""
    depth = max(len(r) for r in st.rows)
    st.per_sample = any(x < 0 for r in st.rows for x in r)
    idx = torch.full((depth, len(st.rows)), n_shared, dtype=torch.int64)
    for j, rows in enumerate(st.rows):
        for d, x in enumerate(rows):
            idx[d, j] = x if x >= 0 else n_shared + 1 + (-1 - x)
    st.index = idx
