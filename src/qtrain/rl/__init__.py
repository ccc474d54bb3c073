"""Reinforcement learning: asynchronous advantage actor-critic (A3C) on MiniGrid, classical or Quantum-Train.

* :mod:`.envs` -- MiniGrid environments and the 147-value observation encoding (gymnasium and
  minigrid are imported lazily: ``pip install "qtrain[rl]"``);
* :class:`SharedAdam` -- Adam whose moments live in shared memory, stepped by every worker;
* :class:`ActorCritic` -- a policy and a value network (plain modules or Quantum-Train wrappers);
* :class:`A3CTrainer` -- worker processes (``torch.multiprocessing``) updating one shared model,
  with checkpoints and resume.

Example:
    >>> from qtrain.rl import ActorCritic
    >>> from qtrain.models import actor_mlp, critic_mlp
    >>> ac = ActorCritic(actor_mlp(), critic_mlp())
    >>> sum(p.numel() for p in ac.parameters())
    11848
"""
from __future__ import annotations

from qtrain.rl.a3c import A3CSettings, A3CTrainer, a3c_loss, discounted_returns, push_and_pull
from qtrain.rl.actor_critic import ActorCritic
from qtrain.rl.envs import MINIGRID_ENVS, N_ACTIONS, OBS_DIM, encode_observation, make_env
from qtrain.rl.shared_adam import SharedAdam

__all__ = ["A3CSettings", "A3CTrainer", "a3c_loss", "discounted_returns", "push_and_pull", "ActorCritic",
           "MINIGRID_ENVS", "N_ACTIONS", "OBS_DIM", "encode_observation", "make_env", "SharedAdam"]
