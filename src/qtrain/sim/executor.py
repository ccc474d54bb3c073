"""Former home of :class:`CompiledCircuit`, kept so ``qtrain.sim.executor`` imports keep working.

The facade now lives in :mod:`qtrain.sim.compiled`, the enums in :mod:`qtrain.sim.modes`.
"""
from __future__ import annotations

from qtrain.sim.compiled import CompiledCircuit
from qtrain.sim.modes import DiffMethod, Engine

__all__ = ["CompiledCircuit", "DiffMethod", "Engine"]
