"""Plan a program for the Triton kernels: passes over state tiles and one op table (host side, no Triton).

A *pass* is one kernel launch. Each program of a launch holds one tile of ``2**t`` amplitudes of
one sample in registers: the amplitudes whose bits at the pass's ``t`` tile positions vary and
whose other bits are fixed by the program's tile number. A pass loads its tile (through the
previous permutation stage, as a gather, when there is one), applies its ops to tile-local bits
in registers and stores the tile.

* **Single pass** (the whole state fits in one tile, ``n <= t``): the whole circuit is one launch
  per direction; permutation stages run in registers (op kind :data:`PERM`).
* **Multi pass** (larger states): single-qubit gates of consecutive stages are packed greedily into
  passes of at most ``t`` distinct bits (a Ry layer on 19 qubits with ``t = 11``: two passes), a
  two-qubit gate needs both its bits in the tile, and each permutation stage is fused into the
  load of the next pass (a trailing one gets a pass of its own).

Launches per direction: 1 (single pass), else ``sum over layers of ceil(wires / t)`` plus the
two-qubit stages that do not fit with their neighbours, plus one for a trailing permutation.
The adjoint walks the same passes in reverse and scatters each tile back through the inverse of
its load permutation.

Op table rows (int32, :data:`OP_WIDTH` columns): ``(kind, a, b, table, row, fwd_perm, inv_perm, 0)``.
``GATE1``: 2x2 on tile-local bit ``a``; ``GATE2``: 4x4 on tile-local bits ``a`` (first wire, most
significant) and ``b``; ``table`` 0 shared, 1 per-sample; ``row`` into that matrix table.
``PERM``: affine permutations ``fwd_perm`` (forward) and ``inv_perm`` (adjoint) of the perm table.

Example:
    >>> from qtrain.sim import ansatz
    >>> from qtrain.sim.program import compile_program
    >>> plan = plan_program(compile_program(ansatz.ry_cnot(5, blocks=3)), tile_bits=3)
    >>> plan.single, len(plan.passes), plan.rows
    (False, 7, (15, 0, 0, 0))
    >>> plan_program(compile_program(ansatz.ry_cnot(5, blocks=3)), tile_bits=5).passes[0].op_end
    18
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from qtrain.sim.affine import AffineMap
from qtrain.sim.program import DenseStage, LayerStage, MonomialStage, Program

__all__ = ["GATE1", "GATE2", "OP_WIDTH", "PERM", "Pass", "TritonPlan", "plan_program"]

GATE1, GATE2, PERM = 0, 1, 2
OP_WIDTH = 8


@dataclass(frozen=True)
class Pass:
    """One launch: tile bit positions (ascending) then the other positions, the load permutation
    (-1: none) and the op rows ``[op_start, op_end)`` it applies."""

    positions: tuple[int, ...]
    load_perm: int
    op_start: int
    op_end: int


@dataclass(eq=False)
class TritonPlan:
    """Everything the kernels read besides the state and the matrices (see the module docstring).

    ``rows``: sizes of the four matrix tables (shared 2x2, per-sample 2x2, shared 4x4, per-sample
    4x4). ``stage_tables``: per stage, ``(table id 0-3, first row)`` or None for permutations;
    the engine packs the stages' matrices in this order. ``phased``: the stages whose phases the
    phase table holds, in row order.
    """

    n: int
    tile_bits: int
    single: bool
    passes: list[Pass]
    ops: Tensor
    perm_const: Tensor
    perm_cols: Tensor
    perm_phase: Tensor
    phased: list[MonomialStage]
    rows: tuple[int, int, int, int]
    stage_tables: list[tuple[int, int] | None]
    positions: Tensor = field(init=False)

    def __post_init__(self) -> None:
        self.positions = torch.tensor([p.positions for p in self.passes], dtype=torch.int32).reshape(
            len(self.passes), self.n)

    @property
    def n_tiles(self) -> int:
        """Programs per sample in each launch."""
        return 1 << (self.n - self.tile_bits)


class _Builder:
    """Walks the stages once, assigning matrix rows, permutation ids and passes."""

    def __init__(self, program: Program, tile_bits: int) -> None:
        self.n, self.t = program.n, tile_bits
        self.single = self.n <= tile_bits
        self.rows = [0, 0, 0, 0]
        self.ops: list[list[int]] = []
        self.perms: dict[tuple[int, bool], int] = {}  # (stage id, inverse) -> perm id
        self.perm_maps: list[tuple[AffineMap, int]] = []  # (map, phase row)
        self.phased: dict[int, int] = {}  # stage id -> phase row
        self.phased_stages: list[MonomialStage] = []
        self.passes: list[Pass] = []
        self.pending: list[tuple[list[int], tuple[int, ...]]] = []  # (op row, its bit positions)
        self.bits: set[int] = set()
        self.load = -1
        self.stage_tables: list[tuple[int, int] | None] = []

    def perm(self, st: MonomialStage, inverse: bool) -> int:
        key = (id(st), inverse)
        if key not in self.perms:
            if st.phased and id(st) not in self.phased:
                self.phased[id(st)] = len(self.phased_stages)
                self.phased_stages.append(st)
            self.perms[key] = len(self.perm_maps)
            self.perm_maps.append((st.src.inverse() if inverse else st.src, self.phased.get(id(st), -1)))
        return self.perms[key]

    def gate(self, kind: int, bits: tuple[int, ...], table: int, row: int) -> None:
        if not self.single and len(self.bits | set(bits)) > self.t:
            self.close()
        self.bits |= set(bits)
        self.pending.append(([kind, 0, 0, table % 2, row, 0, 0, 0], bits))

    def stage(self, st: LayerStage | MonomialStage | DenseStage) -> None:
        n = self.n
        if isinstance(st, MonomialStage):
            self.stage_tables.append(None)
            if self.single:
                self.pending.append(([PERM, 0, 0, 0, 0, self.perm(st, False), self.perm(st, True), 0], ()))
            else:
                self.close(force=self.load >= 0)
                self.load = self.perm(st, False)
            return
        table = (0 if isinstance(st, LayerStage) else 2) + int(st.per_sample)
        if isinstance(st, LayerStage):
            first = self.rows[table]
            # low bits first: gates of a layer commute, and a tile that holds the lowest bits
            # reads and writes contiguous memory
            for j in sorted(range(len(st.wires)), key=lambda j: -st.wires[j]):
                self.gate(GATE1, (n - 1 - st.wires[j],), table, first + j)
            self.rows[table] += len(st.wires)
        else:  # the row of the gate's own 4x4 table (Tables.sh2 / ps2): they are the operands as they are
            first = st.row
            self.gate(GATE2, (n - 1 - st.wires[0], n - 1 - st.wires[1]), table, first)
            self.rows[table] = max(self.rows[table], first + 1)
        self.stage_tables.append((table, first))

    def close(self, force: bool = False) -> None:
        """Emit the pending ops (and the pending load permutation) as one pass."""
        if not self.pending and not force:
            return
        if self.single:
            tile = list(range(self.n))
        else:
            fill = [p for p in range(self.n) if p not in self.bits][: self.t - len(self.bits)]
            tile = sorted(self.bits | set(fill))
        local = {p: i for i, p in enumerate(tile)}
        start = len(self.ops)
        for row, bits in self.pending:
            if bits:
                row[1] = local[bits[0]]
                row[2] = local[bits[1]] if len(bits) > 1 else 0
            self.ops.append(row)
        rest = [p for p in range(self.n) if p not in local]
        self.passes.append(Pass(tuple(tile + rest), self.load, start, len(self.ops)))
        self.pending, self.bits, self.load = [], set(), -1

    def finish(self, program: Program) -> TritonPlan:
        self.close(force=self.load >= 0 or not self.passes)
        consts = [m.const for m, _ in self.perm_maps]
        cols = [list(m.cols) for m, _ in self.perm_maps]
        return TritonPlan(
            self.n, min(self.t, self.n), self.single, self.passes,
            torch.tensor(self.ops, dtype=torch.int32).reshape(-1, OP_WIDTH),
            torch.tensor(consts, dtype=torch.int32), torch.tensor(cols, dtype=torch.int32).reshape(-1, self.n),
            torch.tensor([r for _, r in self.perm_maps], dtype=torch.int32), self.phased_stages,
            (self.rows[0], self.rows[1], self.rows[2], self.rows[3]), self.stage_tables)


def plan_program(program: Program, tile_bits: int) -> TritonPlan:
    """The passes and op table of ``program`` for tiles of at most ``2**tile_bits`` amplitudes.

    Raises:
        ValueError: for ``tile_bits < 2`` on a circuit wider than the tile (a two-qubit gate needs
            two tile bits) or a circuit over 30 qubits (int32 basis indices in the kernels).
    """
    if program.n > 30:
        raise ValueError(f"the Triton engine indexes states with int32: at most 30 qubits, got {program.n}")
    if program.n > tile_bits and tile_bits < 2:
        raise ValueError(f"tile_bits={tile_bits} must be >= 2 (a two-qubit gate needs both bits in a tile)")
    b = _Builder(program, tile_bits)
    for st in program.stages:
        b.stage(st)
    return b.finish(program)
