"""qtrain: quantum-enhanced training of classical neural networks, PyTorch-native.

The simulator lives in :mod:`qtrain.sim`; heavier layers are imported lazily so that
``import qtrain`` stays cheap.
"""
from __future__ import annotations

from qtrain._version import __version__

__all__ = ["__version__"]
