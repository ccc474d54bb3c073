"""The one place that decides which engine runs a call.

:data:`ENGINES` lists the engine classes in the order ``engine="auto"`` tries them;
:func:`build_engines` builds those that can run a program on its device (once per compiled
circuit) and :func:`choose_engine` picks one of them for each call.
"""
from __future__ import annotations

from collections.abc import Sequence

from qtrain.sim.engines.base import EngineContext, EngineImpl
from qtrain.sim.engines.block_program import BlockProgram
from qtrain.sim.engines.gate_program import GateProgram
from qtrain.sim.engines.native import runs_native
from qtrain.sim.engines.native_stages import NativeStages
from qtrain.sim.engines.torch_stages import TorchStages
from qtrain.sim.engines.triton_engine import TritonEngine, explicit_triton
from qtrain.sim.modes import Engine

__all__ = ["ENGINES", "build_engines", "choose_engine"]

# Preference order for engine="auto" (each engine's ``prefers`` decides for a batch); the torch
# engine is last: it runs everything, everywhere. The device rule: CUDA states run on the Triton
# engine when Triton imports, CPU states on the native engines when built, anything else (and
# backprop, and empty batches) on the torch engine.
ENGINES: tuple[type[EngineImpl], ...] = (TritonEngine, GateProgram, BlockProgram, NativeStages, TorchStages)


def build_engines(ctx: EngineContext, requested: Engine) -> list[EngineImpl]:
    """The engines that may run this program: the requested kind (all kinds for ``auto``) and the
    stage engines, which run every program.

    ``engine="triton"`` also builds on CPU tensors, which then run in Triton's interpreter (tests).

    Raises:
        ValueError: for ``engine="blocks"`` on a circuit the block program cannot run, and for
            ``engine="triton"`` without Triton or on a device other than CUDA and CPU.
    """
    wanted = [cls for cls in ENGINES if requested is Engine.AUTO or cls.kind in (requested, Engine.STAGES)]
    engines = [e for e in (cls.build(ctx) for cls in wanted) if e is not None]
    if requested is Engine.TRITON and not any(e.kind is Engine.TRITON for e in engines):
        engines.insert(0, explicit_triton(ctx))
    if requested is Engine.BLOCKS and runs_native(ctx.device, ctx.program.n) \
            and not any(e.kind is Engine.BLOCKS for e in engines):
        raise ValueError(
            "engine='blocks' runs circuits of shared single-qubit gates and CNOT/SWAP/X networks only; "
            "this one has per-sample inputs, parameterised two-qubit gates or phases: use engine='auto'"
        )
    return engines


def choose_engine(engines: Sequence[EngineImpl], requested: Engine, batch: int, *,
                  differentiable: bool = False) -> EngineImpl:
    """The engine for one call over ``batch`` samples.

    ``differentiable``: autograd must trace the run (``backprop``). An empty batch runs on the
    torch engine too: the native kernels take no empty states. Otherwise the requested kind
    when it was built here (the native one first), else the first engine that ``prefers`` the batch.
    """
    if differentiable or batch == 0:
        return next(e for e in engines if e.differentiable)
    for e in engines:
        if e.kind is requested:
            return e
    return next(e for e in engines if e.prefers(batch))
