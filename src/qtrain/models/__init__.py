"""Classical target and baseline models.

Example:
    >>> from qtrain.models import MnistCNN
    >>> sum(p.numel() for p in MnistCNN().parameters())
    6690
"""
from __future__ import annotations

from qtrain.models.cnn import CifarCNN, MnistCNN
from qtrain.models.lstm import GateBiasLSTM, SeriesLSTM
from qtrain.models.mlp import MLP, actor_mlp, critic_mlp, image_mlp

__all__ = ["MnistCNN", "CifarCNN", "GateBiasLSTM", "SeriesLSTM", "MLP", "image_mlp", "actor_mlp", "critic_mlp"]
