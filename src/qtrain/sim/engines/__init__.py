"""Engines: the ways a compiled program is run, one module each, behind one interface.

* :mod:`~qtrain.sim.engines.base` -- the interface (:class:`EngineImpl`) and its build context;
* :mod:`~qtrain.sim.engines.torch_stages` -- stage by stage in torch (any device; autograd);
* :mod:`~qtrain.sim.engines.native_stages` -- stage by stage on the native layer/permutation kernels;
* :mod:`~qtrain.sim.engines.gate_program` -- the whole circuit as one native gate program;
* :mod:`~qtrain.sim.engines.block_program` -- shared layers + linear permutations as one native call;
* :mod:`~qtrain.sim.engines.triton_engine` -- fused Triton kernels for CUDA (planned by
  :mod:`~qtrain.sim.engines.triton_plan`, kernels in :mod:`~qtrain.sim.engines.triton_kernels`);
* :mod:`~qtrain.sim.engines.select` -- the one place that builds and chooses them.
"""
from __future__ import annotations

from qtrain.sim.engines.base import EngineContext, EngineImpl, zero_state
from qtrain.sim.engines.native import native_available
from qtrain.sim.engines.select import ENGINES, build_engines, choose_engine

__all__ = ["EngineContext", "EngineImpl", "ENGINES", "build_engines", "choose_engine", "native_available",
           "zero_state"]
