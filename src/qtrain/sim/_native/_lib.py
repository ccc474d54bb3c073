"""Loading of the compiled extension ``_qtnative`` (optional: qtrain falls back to torch).

``AVAILABLE`` says whether it could be imported; if not, ``unavailable_reason`` says why and
:func:`need` raises. ``QTRAIN_DISABLE_NATIVE=1`` forces the fallback.
"""
from __future__ import annotations

import importlib
import os
from types import ModuleType

import torch

__all__ = ["AVAILABLE", "ext", "need", "nthreads_or_default", "unavailable_reason"]

AVAILABLE: bool = False
unavailable_reason: str = ""
ext: ModuleType | None = None

if os.environ.get("QTRAIN_DISABLE_NATIVE", "0") == "1":
    unavailable_reason = "disabled by QTRAIN_DISABLE_NATIVE=1"
else:
    try:  # import_module: a missing build reads "No module named ..._qtnative"
        ext = importlib.import_module(f"{__package__}._qtnative")
        AVAILABLE = True
    except ImportError as _e:  # not built (no compiler at install time) or wrong CPU
        unavailable_reason = f"native extension not importable: {_e}"


def need() -> ModuleType:
    """The extension module; ``RuntimeError`` naming the reason when it is unavailable."""
    if ext is None:
        raise RuntimeError(f"qtrain native kernels unavailable: {unavailable_reason}")
    return ext


def nthreads_or_default(nthreads: int | None) -> int:
    """``nthreads``, or ``torch.get_num_threads()`` when None."""
    return torch.get_num_threads() if nthreads is None else int(nthreads)
