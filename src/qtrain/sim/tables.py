"""Parameters -> matrices: the gate tables of a program and the fused matrices of its layers.

:class:`ParamTables` turns ``weights`` and per-sample ``inputs`` into four matrix tables, one
vectorised ``Gate.matrix`` call per :class:`~qtrain.sim.program.ParamGroup`:

* ``sh1`` ``(R1, 2, 2)`` and ``ps1`` ``(B, P1, 2, 2)``: shared / per-sample single-qubit matrices;
* ``sh2`` ``(R2, 4, 4)`` and ``ps2`` ``(B, P2, 4, 4)``: shared / per-sample two-qubit matrices.

:class:`LayerMatrices` multiplies the single-qubit rows of each layer stage into one 2x2 matrix
per wire. Engines take what they need from these (see :mod:`qtrain.sim.engines`).

Example:
    >>> import torch
    >>> from qtrain.sim import ansatz
    >>> from qtrain.sim.program import compile_program
    >>> prog = compile_program(ansatz.ry_cnot(3, blocks=2))
    >>> t = ParamTables(prog, torch.float32, torch.device("cpu")).build(torch.zeros(6), None)
    >>> t.sh1.shape, t.ps1.shape
    (torch.Size([6, 2, 2]), torch.Size([1, 0, 2, 2]))
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from qtrain.sim.ops import Input
from qtrain.sim.program import DenseStage, LayerStage, ParamGroup, Program

__all__ = ["Tables", "Shift", "ParamTables", "LayerMatrices", "REAL_OF"]

REAL_OF = {torch.float32: torch.float32, torch.float64: torch.float64,
           torch.complex64: torch.float32, torch.complex128: torch.float64}

# (group id, op position in the group, parameter slot, amount): one parameter occurrence shifted
Shift = tuple[int, int, int, float]


class Tables(NamedTuple):
    """The matrices of every parameterised op (see the module docstring for the shapes)."""

    sh1: Tensor
    ps1: Tensor
    sh2: Tensor
    ps2: Tensor


class _GroupIndex(NamedTuple):
    widx: Tensor  # weight index of each (op, slot)
    wmask: Tensor  # slot fed by a weight
    xidx: Tensor  # input column of each (op, slot)
    xscale: Tensor  # input scale (0 where the slot is not an input)
    const: Tensor  # constant value (0 where the slot is not a constant)


class ParamTables:
    """Gathers parameter values per group and evaluates the gate matrices into tables."""

    def __init__(self, program: Program, dtype: torch.dtype, device: torch.device) -> None:
        self.program, self.dtype, self.device = program, dtype, device
        self.real_dtype = REAL_OF[dtype]
        groups = self._groups = program.groups1 + program.groups2
        self._index = [self._index_group(g) for g in groups]
        self._rows = [torch.tensor(g.rows, dtype=torch.int64, device=device) for g in groups]
        self._full = [_covers_table(g, groups) for g in groups]

    def _index_group(self, grp: ParamGroup) -> _GroupIndex:
        """Precomputed gather indices of a group's parameter sources."""
        shape = (len(grp.ops), grp.gate.n_params)
        widx, xidx = torch.zeros(shape, dtype=torch.int64), torch.zeros(shape, dtype=torch.int64)
        const, xscale = torch.zeros(shape, dtype=self.real_dtype), torch.zeros(shape, dtype=self.real_dtype)
        wmask = torch.zeros(shape, dtype=torch.bool)
        for i, op in enumerate(grp.ops):
            for j, p in enumerate(op.params):
                if isinstance(p, Input):
                    xidx[i, j], xscale[i, j] = p.index, p.scale
                elif isinstance(p, int):
                    widx[i, j], wmask[i, j] = p, True
                else:
                    const[i, j] = p
        return _GroupIndex(*(t.to(self.device) for t in (widx, wmask, xidx, xscale, const)))

    def values(self, gi: int, weights: Tensor, inputs: Tensor | None) -> Tensor:
        """Parameter values ``(n_ops, n_params)``, or ``(B, n_ops, n_params)`` for per-sample ops."""
        ix = self._index[gi]
        vals = torch.where(ix.wmask, weights[ix.widx] if weights.numel() else ix.const, ix.const)
        if self._groups[gi].per_sample:
            vals = vals + inputs[:, ix.xidx] * ix.xscale  # type: ignore[index]  # per-sample ops imply inputs
        return vals

    def build(self, weights: Tensor, inputs: Tensor | None, shift: Shift | None = None) -> Tables:
        """All four tables; ``shift`` adds an amount to one parameter occurrence (parameter shift)."""
        b = inputs.shape[0] if inputs is not None else 1
        one = self._arity(self.program.groups1, 0, 2, self.program.n_shared1, weights, inputs, b, shift)
        two = self._arity(self.program.groups2, len(self.program.groups1), 4, self.program.n_shared2,
                          weights, inputs, b, shift)
        return Tables(*one, *two)

    def _arity(self, glist: list[ParamGroup], offset: int, d: int, n_sh: int, weights: Tensor,
               inputs: Tensor | None, b: int, shift: Shift | None) -> tuple[Tensor, Tensor]:
        """``(shared, per_sample)`` tables of the groups ``glist`` (ids from ``offset``) of ``d x d`` gates."""
        n_ps = sum(len(g.ops) for g in glist if g.per_sample)
        shared: Tensor | None = None
        ps: Tensor | None = None
        for gi, grp in enumerate(glist, start=offset):
            vals = self.values(gi, weights, inputs)
            if shift is not None and shift[0] == gi:
                vals = vals.clone()
                vals[..., shift[1], shift[2]] += shift[3]
            m = grp.gate.matrix(vals).to(self.dtype).to(self.device)
            k = len(grp.ops)
            if self._full[gi]:  # a group covering its whole table is the table: no scatter needed
                if grp.per_sample:
                    ps = m.expand(b, k, d, d)
                else:
                    shared = m.expand(k, d, d)
            elif grp.per_sample:
                ps = (ps if ps is not None else self._zeros(b, n_ps, d, d)).index_copy(1, self._rows[gi], m)
            else:
                base = shared if shared is not None else self._zeros(n_sh, d, d)
                shared = base.index_copy(0, self._rows[gi], m.expand(k, d, d))
        return (shared if shared is not None else self._zeros(n_sh, d, d),
                ps if ps is not None else self._zeros(b, n_ps, d, d))

    def _zeros(self, *shape: int) -> Tensor:
        return torch.zeros(*shape, dtype=self.dtype, device=self.device)


def _covers_table(grp: ParamGroup, groups: list[ParamGroup]) -> bool:
    """True when ``grp`` is the only group of its table and its rows are 0..len-1 in order."""
    same = [g for g in groups if g.gate.n_wires == grp.gate.n_wires and g.per_sample == grp.per_sample]
    return len(same) == 1 and grp.rows == list(range(len(grp.rows)))


class LayerMatrices:
    """Fused ``(nw, 2, 2)`` (or per-sample ``(B, nw, 2, 2)``) matrices of the layer stages.

    Layer stages are grouped by (per-sample, depth) so each group is one gather and a chain of
    ``depth - 1`` batched matmuls, whatever the number of layers.
    """

    def __init__(self, program: Program, dtype: torch.dtype, device: torch.device) -> None:
        self.program, self.dtype, self.device = program, dtype, device
        grouped: dict[tuple[bool, int], tuple[list[int], list[Tensor], list[int]]] = {}
        for i, st in enumerate(program.stages):
            if isinstance(st, LayerStage):
                assert st.index is not None
                ids, idx, sizes = grouped.setdefault((st.per_sample, st.index.shape[0]), ([], [], []))
                ids.append(i)
                idx.append(st.index)
                sizes.append(st.index.shape[1])
        cat = {k: torch.cat(idx, 1) for k, (_, idx, _) in grouped.items()}
        self._pads = {k: bool((idx == program.n_shared1).any()) for k, idx in cat.items()}  # on CPU: no device sync
        self._batches = {k: (ids, cat[k].to(device), sizes) for k, (ids, _, sizes) in grouped.items()}

    @property
    def shared_only(self) -> bool:
        """True when no layer has a per-sample matrix."""
        return not any(per_sample for per_sample, _ in self._batches)

    def _fused(self, key: tuple[bool, int], sh1: Tensor, ps1: Tensor) -> Tensor:
        """Fused matrices of all layer stages of one (per-sample, depth) group, in stage order."""
        index = self._batches[key][1]
        if not key[0] and not self._pads[key]:
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

    def _parts(self, t: Tables) -> list[tuple[int, Tensor]]:
        parts: list[tuple[int, Tensor]] = []
        for key, (ids, _index, sizes) in self._batches.items():
            parts.extend(zip(ids, self._fused(key, t.sh1, t.ps1).split(sizes, dim=-3)))
        return parts

    def stage_tensors(self, t: Tables) -> list[Tensor | None]:
        """One matrix tensor per stage (None for fixed permutation stages)."""
        out: list[Tensor | None] = [None] * len(self.program.stages)
        for i, part in self._parts(t):
            out[i] = part
        for i, st in enumerate(self.program.stages):
            if isinstance(st, DenseStage):
                out[i] = t.ps2[:, st.row] if st.per_sample else t.sh2[st.row]
        return out

    def packed(self, t: Tables) -> Tensor:
        """All shared layers' matrices stacked in stage order: ``(total wires, 2, 2)``, contiguous."""
        if not self._batches:
            return torch.zeros(0, 2, 2, dtype=self.dtype, device=self.device)
        if len(self._batches) == 1:
            return self._fused(next(iter(self._batches)), t.sh1, t.ps1).contiguous()
        return torch.cat([p for _, p in sorted(self._parts(t), key=lambda ip: ip[0])])
