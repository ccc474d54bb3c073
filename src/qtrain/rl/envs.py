"""MiniGrid environments and their observation encoding for the A3C agents.

MiniGrid's partial view is a 7 x 7 x 3 egocentric image of (object index 0-10, colour index 0-5,
state 0-2); flattened and divided by those maxima it is the policy's 147 inputs. Actions are
MiniGrid's 7 (left, right, forward, pickup, drop, toggle, done), so the policy ends in 7 logits
(147-32-32-7 in the DiffQAS-QT paper). gymnasium and minigrid are imported only here, when an
environment is made.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from qtrain._optional import require

__all__ = ["MINIGRID_ENVS", "OBS_DIM", "N_ACTIONS", "make_env", "encode_observation"]

MINIGRID_ENVS = ("MiniGrid-Empty-5x5-v0", "MiniGrid-Empty-6x6-v0", "MiniGrid-Empty-8x8-v0",
                 "MiniGrid-Empty-Random-5x5-v0", "MiniGrid-Empty-Random-6x6-v0")
"""Environments with the 7 x 7 x 3 view the encoding expects (the paper uses the first two)."""
OBS_DIM = 147
N_ACTIONS = 7
_CHANNEL_MAX = np.array([10.0, 5.0, 2.0], dtype=np.float32)


def make_env(env_id: str) -> Any:
    """``gymnasium.make(env_id)`` after importing minigrid (which registers its environments).

    Raises:
        ValueError: ``env_id`` is not one of :data:`MINIGRID_ENVS`.
        ImportError: gymnasium or minigrid is missing (``pip install "qtrain[rl]"``).
    """
    if env_id not in MINIGRID_ENVS:
        raise ValueError(f"env={env_id!r} is not supported; use one of {list(MINIGRID_ENVS)}")
    gym = require("gymnasium", "rl", "MiniGrid environments")
    require("minigrid", "rl", "MiniGrid environments")
    return gym.make(env_id)


def encode_observation(obs: dict[str, Any] | np.ndarray) -> Tensor:
    """The 7 x 7 x 3 view (or a MiniGrid observation dict) as ``float32 (147,)`` in [0, 1].

    Example:
        >>> encode_observation(np.full((7, 7, 3), 2, dtype=np.uint8))[:3].tolist()
        [0.20000000298023224, 0.4000000059604645, 1.0]
    """
    image = obs["image"] if isinstance(obs, dict) else obs
    image = np.asarray(image)
    if image.shape != (7, 7, 3):
        raise ValueError(f"a MiniGrid view has shape (7, 7, 3), got {image.shape}")
    return torch.from_numpy((image.astype(np.float32) / _CHANNEL_MAX).reshape(-1))
