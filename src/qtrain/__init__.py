"""qtrain: quantum-enhanced training of classical neural networks, PyTorch-native.

Example:
    >>> import torch, qtrain
    >>> target = torch.nn.Linear(8, 2)
    >>> qt = qtrain.QuantumTrain(target, ansatz="ry_cnot", blocks=2)
    >>> qt.summary().generated
    18

The simulator lives in :mod:`qtrain.sim`; the Quantum-Train names are imported lazily so that
``import qtrain`` stays cheap. :func:`set_threads` is the CPU thread policy (see :mod:`qtrain.threads`):
``qtrain.set_threads(1)`` for small circuits on a shared machine, ``"auto"`` for the idle cores.
"""
from __future__ import annotations

import importlib
from typing import Any

from qtrain._version import __version__

_LAZY = {
    "QuantumTrain": "qtrain.qt",
    "QuantumParameterGenerator": "qtrain.qt",
    "MLPMapping": "qtrain.qt",
    "ParamSummary": "qtrain.qt",
    "count_parameters": "qtrain.qt",
    "set_threads": "qtrain.threads",
    "use_threads": "qtrain.threads",
    "recommended_threads": "qtrain.threads",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'qtrain' has no attribute {name!r}")
