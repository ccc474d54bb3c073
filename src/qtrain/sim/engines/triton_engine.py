"""The Triton engine: fused kernels for CUDA states (and, through Triton's interpreter, CPU tensors).

A program is planned once (:mod:`~qtrain.sim.engines.triton_plan`) into passes; each pass is one
launch of :func:`~qtrain.sim.engines.triton_kernels.forward_kernel` over a grid of (sample, tile)
programs, and the adjoint walk launches
:func:`~qtrain.sim.engines.triton_kernels.adjoint_kernel` once per pass in reverse.

Expected launches per call (forward / adjoint): states of at most 2**13 real or 2**11 complex
(float32) amplitudes run the whole circuit in one kernel per direction (QT-16 and QT-121 on 13 qubits:
1 / 1, plus the torch ops that build the fused matrices and reduce the cross terms); larger ones
run about ``ceil(n / 11)`` passes per Ry layer (19 qubits, 323 blocks: 647 / 647). The tile
limits below are first guesses to be tuned on a GPU (registers vs occupancy).

On CPU tensors the same kernel source runs in Triton's interpreter (``engine="triton"``,
explicitly; it is slow and meant for tests). The engine is built automatically for CUDA devices
when Triton imports (``QTRAIN_DISABLE_TRITON=1`` turns it off).
"""
from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Sequence
from types import ModuleType
from typing import ClassVar

import torch
from torch import Tensor

from qtrain.sim.engines.base import EngineContext
from qtrain.sim.engines.triton_plan import GATE2, PERM, TritonPlan, plan_program
from qtrain.sim.modes import Engine
from qtrain.sim.tables import Tables

__all__ = [
    "MULTI_TILE_BITS",
    "SINGLE_TILE_BITS",
    "TritonEngine",
    "default_tile_bits",
    "explicit_triton",
    "runs_triton",
    "triton_available",
]

# Whole-state tiles up to this many qubits per state dtype: one launch per direction. Beyond them,
# tiles of MULTI_TILE_BITS. Chosen so that the sm_90a builds do not spill (ptxas, see
# benchmarks/results/gpu_kernels.md; complex adjoints need the most registers); to be tuned on a GPU.
SINGLE_TILE_BITS = {torch.float32: 13, torch.complex64: 11, torch.float64: 12, torch.complex128: 10}
MULTI_TILE_BITS = {torch.float32: 11, torch.complex64: 10, torch.float64: 10, torch.complex128: 9}
_KERNELS = "qtrain.sim.engines.triton_kernels"
_loaded: dict[bool, ModuleType] = {}


def triton_available() -> bool:
    """True when Triton imports and is not disabled (``QTRAIN_DISABLE_TRITON=1``)."""
    if os.environ.get("QTRAIN_DISABLE_TRITON", "") == "1":
        return False
    return importlib.util.find_spec("triton") is not None


def runs_triton(device: torch.device) -> bool:
    """True when ``engine="auto"`` runs on the Triton engine for states on ``device``."""
    return device.type == "cuda" and triton_available()


def explicit_triton(ctx: EngineContext) -> TritonEngine:
    """The engine for ``engine="triton"``: on CUDA, or on CPU through Triton's interpreter.

    Raises:
        ValueError: when Triton is not installed (or disabled), or for other devices.
    """
    if not triton_available():
        raise ValueError('engine=\'triton\' needs the triton package: pip install "qtrain[gpu]" '
                         "(or unset QTRAIN_DISABLE_TRITON), or use engine='auto'")
    if ctx.device.type not in ("cuda", "cpu"):
        raise ValueError(f"engine='triton' runs on CUDA (or on CPU through Triton's interpreter), not on "
                         f"device={str(ctx.device)!r}; use engine='auto'")
    return TritonEngine(ctx)


def default_tile_bits(n: int, dtype: torch.dtype) -> int:
    """Tile size (log2 amplitudes) for an ``n``-qubit state of ``dtype``: the whole state when it fits."""
    return n if n <= SINGLE_TILE_BITS[dtype] else MULTI_TILE_BITS[dtype]


def kernels(device: torch.device) -> ModuleType:
    """The kernel module for ``device``: compiled kernels for CUDA, interpreted ones for CPU tensors.

    The interpreted copy is the same source executed while Triton's interpreter is switched on
    (Triton decides at decoration time), so CPU runs need no ``TRITON_INTERPRET=1``.
    """
    interpret = device.type != "cuda"
    if interpret not in _loaded:
        _loaded[interpret] = _load_interpreted() if interpret else importlib.import_module(_KERNELS)
    return _loaded[interpret]


def _load_interpreted() -> ModuleType:
    from triton import knobs

    if knobs.runtime.interpret:  # TRITON_INTERPRET=1: the ordinary import is already interpreted
        return importlib.import_module(_KERNELS)
    spec = importlib.util.find_spec(_KERNELS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    knobs.runtime.interpret = True
    try:
        spec.loader.exec_module(module)
    finally:
        knobs.runtime.interpret = False
    return module


def _planes(t: Tensor) -> Tensor:
    """A contiguous real view for the kernels (complex: real and imaginary parts interleaved)."""
    t = t.resolve_conj().resolve_neg().contiguous()
    return torch.view_as_real(t) if t.is_complex() else t


class TritonEngine:
    """Fused Triton kernels: one launch per pass (see the module docstring)."""

    kind: ClassVar[Engine] = Engine.TRITON
    differentiable: ClassVar[bool] = False

    def __init__(self, ctx: EngineContext, tile_bits: int | None = None) -> None:
        self.ctx = ctx
        n = ctx.program.n
        self.plan: TritonPlan = plan_program(ctx.program, default_tile_bits(n, ctx.dtype) if tile_bits is None
                                             else tile_bits)
        self._c = 2 if ctx.dtype.is_complex else 1
        self._tables: dict[str, Tensor] | None = None  # device copies of the plan, built on first run
        self._positions: list[Tensor] = []
        kinds = set(self.plan.ops[:, 0].tolist())
        tb = self.plan.tile_bits
        # compile-time flags: kernels without 4x4 or permutation code when the plan has none
        # (fewer registers); warps: 32 bytes of state per thread (8 fp32 amplitudes), 1 to 16 warps
        self._meta = {"NQ": self.plan.n, "TB": tb, "C": self._c, "GATE2": GATE2 in kinds, "PERM": PERM in kinds,
                      "num_warps": max(1, min(16, ((1 << tb) * ctx.dtype.itemsize) // 1024))}

    @classmethod
    def build(cls, ctx: EngineContext) -> TritonEngine | None:
        return cls(ctx) if runs_triton(ctx.device) else None

    def prefers(self, batch: int) -> bool:
        return self.ctx.device.type == "cuda"

    def launches(self) -> int:
        """Kernel launches per direction (forward, or adjoint)."""
        return len(self.plan.passes)

    # -- operands -------------------------------------------------------------------------
    def operands(self, tables: Tables) -> list[Tensor | None]:
        """``[shared 2x2 (R1s,2,2), per-sample 2x2 (B,R1p,2,2), shared 4x4 (R2s,4,4), per-sample 4x4]``.

        The 4x4 tables are ``tables.sh2``/``ps2`` themselves; with shared layers only, the 2x2 table
        is the one fused stack of :meth:`LayerMatrices.packed` (no per-stage views on the hot path).
        """
        r1s, r1p, r2s, r2p = self.plan.rows
        two = [tables.sh2 if r2s else None, tables.ps2 if r2p else None]
        layers = self.ctx.layers
        if not r1p:
            return [layers.packed(tables) if r1s else None, None, *two]
        parts: list[list[Tensor]] = [[], []]
        for slot, t in zip(self.plan.stage_tables, layers.stage_tensors(tables)):
            if slot is not None and slot[0] < 2 and t is not None:
                parts[slot[0]].append(t if slot[0] == 0 or t.dim() == 4 else t[:, None])
        return [torch.cat(parts[0], 0) if parts[0] else None, torch.cat(parts[1], 1), *two]

    # -- device tables ----------------------------------------------------------------------
    def _device_tables(self) -> dict[str, Tensor]:
        if self._tables is None:
            dev, plan = self.ctx.device, self.plan
            dummy = torch.zeros(1, dtype=torch.int32, device=dev)
            phases = [st.phase_tensor(self.ctx.dtype, dev) for st in plan.phased]
            self._tables = {
                "ops": plan.ops.to(dev) if plan.ops.numel() else dummy,
                "pconst": plan.perm_const.to(dev) if plan.perm_const.numel() else dummy,
                "pcols": plan.perm_cols.to(dev) if plan.perm_cols.numel() else dummy,
                "pphase": plan.perm_phase.to(dev) if plan.perm_phase.numel() else dummy,
                "phase": _planes(torch.stack(phases)) if phases else torch.zeros(2, dtype=self._real, device=dev),
                "no_matrix": torch.zeros(2, dtype=self._real, device=dev),  # stands for absent tables
            }
            positions = plan.positions.to(dev)
            self._positions = [positions[i] for i in range(len(plan.passes))]
        return self._tables

    @property
    def _real(self) -> torch.dtype:
        return torch.float64 if self.ctx.dtype in (torch.float64, torch.complex128) else torch.float32

    def _common(self, operands: Sequence[Tensor | None]) -> tuple[list[Tensor], dict[str, Tensor], list[int]]:
        """Matrix operands as real planes, the device tables, and the per-sample table widths."""
        tab = self._device_tables()
        mats = [tab["no_matrix"] if t is None or t.numel() == 0 else _planes(t.detach().to(self.ctx.dtype))
                for t in operands]
        r1p = operands[1].shape[1] if operands[1] is not None else 0
        r2p = operands[3].shape[1] if operands[3] is not None else 0
        return mats, tab, [r1p, r2p]

    def _grid(self, batch: int) -> tuple[int]:
        return (batch * self.plan.n_tiles,)

    # -- running ------------------------------------------------------------------------------
    def forward(self, state: Tensor, operands: Sequence[Tensor | None]) -> Tensor:
        k = kernels(self.ctx.device)
        (m1s, m1p, m2s, m2p), tab, (r1p, r2p) = self._common(operands)
        b = state.shape[0]
        cur = state.contiguous()
        spare = torch.empty_like(cur) if len(self.plan.passes) > 1 else cur
        for pi, ps in enumerate(self.plan.passes):
            k.forward_kernel[self._grid(b)](
                _planes(cur), _planes(spare), tab["ops"], ps.op_start, ps.op_end, m1s, m1p, m2s, m2p, r1p, r2p,
                tab["pconst"], tab["pcols"], tab["pphase"], tab["phase"], self._positions[pi], ps.load_perm,
                self.plan.n_tiles, **self._meta)
            cur, spare = spare, cur
        return cur

    def adjoint(self, psi: Tensor, g: Tensor, operands: Sequence[Tensor | None],
                wanted: Sequence[bool]) -> list[Tensor | None]:
        k = kernels(self.ctx.device)
        mats, tab, (r1p, r2p) = self._common(operands)
        plan, b, c = self.plan, psi.shape[0], self._c
        r1s, _, r2s, _ = plan.rows
        grad = any(wanted)
        progs = b * plan.n_tiles
        cross1 = torch.empty(progs, (r1s + r1p) if grad else 0, 4, c, dtype=self._real, device=psi.device)
        cross2 = torch.empty(progs, (r2s + r2p) if grad else 0, 16, c, dtype=self._real, device=psi.device)
        src = [psi.contiguous(), g.to(psi.dtype).resolve_conj().resolve_neg().contiguous()]  # read, never written
        pair_a, pair_b = [torch.empty_like(src[0]) for _ in range(2)], [torch.empty_like(src[0]) for _ in range(2)]
        dst = pair_a
        for pi in reversed(range(len(plan.passes))):
            ps = plan.passes[pi]
            k.adjoint_kernel[self._grid(b)](
                _planes(src[0]), _planes(src[1]), _planes(dst[0]), _planes(dst[1]),
                cross1 if cross1.numel() else mats[0], cross2 if cross2.numel() else mats[0], tab["ops"],
                ps.op_start, ps.op_end, *mats, r1s, r1p, r2s, r2p, tab["pconst"], tab["pcols"], tab["pphase"],
                tab["phase"], self._positions[pi], ps.load_perm, plan.n_tiles, GRAD=grad, **self._meta)
            src, dst = dst, (pair_b if dst is pair_a else pair_a)
        if not grad:
            return [None] * 4
        return self._gradients(cross1, cross2, operands, wanted, b)

    def _gradients(self, cross1: Tensor, cross2: Tensor, operands: Sequence[Tensor | None],
                   wanted: Sequence[bool], b: int) -> list[Tensor | None]:
        """``dL/dU = cross @ U``: per-program cross terms summed over tiles (and samples when shared)."""
        r1s, _, r2s, _ = self.plan.rows
        out: list[Tensor | None] = []
        for i, (cross, d, shared_rows) in enumerate(((cross1, 2, r1s), (cross1, 2, r1s), (cross2, 4, r2s),
                                                     (cross2, 4, r2s))):
            m = operands[i]
            if m is None or not wanted[i]:
                out.append(None)
                continue
            cs = cross.view(b, self.plan.n_tiles, cross.shape[1], d, d, self._c).sum(1)
            cs = torch.view_as_complex(cs) if self._c == 2 else cs[..., 0]
            cs = cs[:, :shared_rows].sum(0) if i % 2 == 0 else cs[:, shared_rows:]
            out.append(cs.to(m.dtype) @ m.detach())
        return out
