"""Classical target and baseline models.

Example:
    >>> from qtrain.models import MnistCNN
    >>> sum(p.numel() for p in MnistCNN().parameters())
    6690
"""
from __future__ import annotations

from qtrain.models.cnn import CifarCNN, MnistCNN

__all__ = ["MnistCNN", "CifarCNN"]
