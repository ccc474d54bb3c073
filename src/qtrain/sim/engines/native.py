"""Access to the optional native kernels (:mod:`qtrain.sim._native`) for the CPU engines.

The only module of the engines that imports the extension; permutations are handed to it as
linear plans made from a stage's affine map, so no 2**n index is ever analysed or built.
"""
from __future__ import annotations

import os
from typing import Any, Sequence

import torch

from qtrain.sim.affine import AffineMap
from qtrain.sim.program import MonomialStage, Stage

__all__ = ["kernels", "native_available", "runs_native", "perm_plans"]

try:
    from qtrain.sim import _native
except ImportError:  # pragma: no cover - the package ships the module; the extension may be missing
    _native = None  # type: ignore[assignment]

kernels: Any = _native  # the extension's Python API (None when it is not importable)


def native_available() -> bool:
    """True when the native kernels are built and not disabled (``QTRAIN_DISABLE_NATIVE=1``)."""
    return _native is not None and _native.AVAILABLE and os.environ.get("QTRAIN_DISABLE_NATIVE", "") != "1"


def runs_native(device: torch.device, n: int) -> bool:
    """True when a native engine can run ``n``-qubit states on ``device``."""
    return device.type == "cpu" and native_available() and n <= _native.MAX_QUBITS


def _plan(src: AffineMap) -> Any:
    return _native.PermPlan(src.n, True, src.const, src.cols, None)


def perm_plans(stages: Sequence[Stage]) -> dict[int, tuple[Any, Any]]:
    """``id(stage) -> (forward plan, inverse plan)`` of every permutation stage (O(n**2) each)."""
    return {id(st): (_plan(st.src), _plan(st.src.inverse())) for st in stages if isinstance(st, MonomialStage)}
