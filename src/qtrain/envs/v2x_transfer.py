"""``V2XTransferEnv``: when and how a vehicle refreshes its perception model (V2X paper, Sec. V-A).

The paper models model transfer as an MDP with state (local data-distribution shift, channel
quality, local model performance), actions (fine-tune locally, receive the roadside unit's model,
share with neighbouring vehicles) and a reward trading decision accuracy against latency. This
environment makes those words a documented, seeded dynamics (one step = one decision epoch):

* **Channel**: the V2X link SNR (dB) is a Gauss-Markov process ``s' = m + rho (s - m) + sd
  sqrt(1 - rho^2) e``, ``e ~ N(0, 1)``, with ``m = 10``, ``sd = 8``, ``rho = 0.9``; its rate is
  ``R = B log2(1 + 10^(s / 10))`` with ``B = 10`` MHz (Mbit/s). Observation ``c = clip((s + 10) / 40, 0, 1)``.
* **Shift**: ``d`` in ``[0, 1]`` grows by ``U(0, 0.03)`` every step and jumps by ``U(0.2, 0.4)``
  with probability 0.05 (entering a new area); the model's accuracy drops by ``0.5 x`` each increase.
* **Actions** (then the step's drift is applied):

  ====================  ==========================================================  ==========================
  action                effect on (shift d, accuracy a)                             latency (s)
  ====================  ==========================================================  ==========================
  0 fine-tune locally   ``d <- 0.7 d``, ``a <- a + 0.3 (0.88 - 0.3 d - a)``         ``1.0`` (on-board compute)
  1 pull roadside model ``d <- 0.05``, ``a <- 0.95 - 0.5 * 0.05``                    ``40 Mbit / R`` (cap 5)
  2 share w/ neighbours ``d <- 0.7 d``, ``a <- a + 0.5 (0.82 - a)``                  ``10 Mbit / R`` (cap 5)
  ====================  ==========================================================  ==========================

  (fine-tuning has little local data for a new domain, hence its ceiling falls with ``d``; the
  neighbours' models come from similar but not identical domains, hence their lower ceiling.)
* **Reward**: ``a' - lambda * latency`` with ``lambda = 0.1`` per second; accuracy ``a`` is kept
  in ``[0, 1]``. Episodes are truncated after ``horizon = 50`` steps.

So a strong link favours pulling the roadside model, a weak one fine-tuning or sharing, and large
shifts make waiting expensive; no single action is best in every state.

Example:
    >>> env = V2XTransferEnv()
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, int(env.action_space.n)
    ((3,), 3)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from qtrain._optional import require

gym = require("gymnasium", "rl", "the V2X model-transfer environment")
spaces = require("gymnasium.spaces", "rl", "the V2X model-transfer environment")

__all__ = ["V2XTransferEnv", "TransferDynamics", "ACTIONS"]

ACTIONS = ("fine_tune", "pull_rsu", "share")


@dataclass(frozen=True)
class TransferDynamics:
    """Constants of the documented dynamics (see the module docstring)."""

    snr_mean_db: float = 10.0
    snr_std_db: float = 8.0
    snr_rho: float = 0.9
    bandwidth_mhz: float = 10.0
    drift_max: float = 0.03
    jump_prob: float = 0.05
    jump_low: float = 0.2
    jump_high: float = 0.4
    shift_penalty: float = 0.5
    finetune_latency_s: float = 1.0
    finetune_keep: float = 0.7
    finetune_rate: float = 0.3
    finetune_ceiling: float = 0.88
    finetune_shift_drop: float = 0.3
    rsu_model_mbit: float = 40.0
    rsu_shift: float = 0.05
    rsu_accuracy: float = 0.95
    share_mbit: float = 10.0
    share_keep: float = 0.7
    share_rate: float = 0.5
    share_ceiling: float = 0.82
    max_latency_s: float = 5.0
    latency_weight: float = 0.1
    horizon: int = 50

    def rate_mbps(self, snr_db: float) -> float:
        """Shannon rate of the V2X link (Mbit/s)."""
        return self.bandwidth_mhz * math.log2(1.0 + 10.0 ** (snr_db / 10.0))


class V2XTransferEnv(gym.Env):  # type: ignore[misc]
    """The V2X model-transfer MDP: observation ``[c, d, a]`` in ``[0, 1]^3``, 3 discrete actions.

    Args:
        dynamics: the constants (defaults: the documented ones).

    ``info`` of each step: ``snr_db``, ``rate_mbps``, ``latency_s``, ``accuracy``, ``shift``, ``action_name``.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, dynamics: TransferDynamics | None = None) -> None:
        self.dyn = dynamics or TransferDynamics()
        self.observation_space = spaces.Box(0.0, 1.0, shape=(3,), dtype=np.float32)
        self.action_space = spaces.Discrete(3)
        self.snr_db, self.shift, self.accuracy, self.t = 0.0, 0.0, 0.0, 0

    def _obs(self) -> np.ndarray:
        c = min(max((self.snr_db + 10.0) / 40.0, 0.0), 1.0)
        return np.array([c, self.shift, self.accuracy], dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        rng, d = self.np_random, self.dyn
        self.snr_db = float(rng.normal(d.snr_mean_db, d.snr_std_db))
        self.shift = float(rng.uniform(0.0, 0.3))
        self.accuracy = float(d.rsu_accuracy - d.shift_penalty * self.shift)
        self.t = 0
        return self._obs(), {"snr_db": self.snr_db}

    def _act(self, action: int) -> float:
        """Apply ``action`` to (shift, accuracy); returns its latency in seconds."""
        d, rate = self.dyn, self.dyn.rate_mbps(self.snr_db)
        if action == 0:
            self.shift *= d.finetune_keep
            ceiling = d.finetune_ceiling - d.finetune_shift_drop * self.shift  # little local data for a new domain
            self.accuracy += d.finetune_rate * (ceiling - self.accuracy)
            return d.finetune_latency_s
        if action == 1:
            self.shift = d.rsu_shift
            self.accuracy = d.rsu_accuracy - d.shift_penalty * d.rsu_shift
            return min(d.rsu_model_mbit / rate, d.max_latency_s)
        self.shift *= d.share_keep
        self.accuracy += d.share_rate * (d.share_ceiling - self.accuracy)
        return min(d.share_mbit / rate, d.max_latency_s)

    def _drift(self) -> None:
        rng, d = self.np_random, self.dyn
        step = float(rng.uniform(0.0, d.drift_max))
        if rng.random() < d.jump_prob:
            step += float(rng.uniform(d.jump_low, d.jump_high))
        new = min(self.shift + step, 1.0)
        self.accuracy -= d.shift_penalty * (new - self.shift)
        self.shift = new
        e = float(rng.normal())
        self.snr_db = d.snr_mean_db + d.snr_rho * (self.snr_db - d.snr_mean_db) + d.snr_std_db * math.sqrt(
            1.0 - d.snr_rho**2) * e

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        if not self.action_space.contains(action):
            raise ValueError(f"action={action!r} is not one of 0 (fine_tune), 1 (pull_rsu), 2 (share)")
        a = int(action)
        snr, rate = self.snr_db, self.dyn.rate_mbps(self.snr_db)
        latency = self._act(a)
        self.accuracy = min(max(self.accuracy, 0.0), 1.0)
        reward = self.accuracy - self.dyn.latency_weight * latency
        info = {"snr_db": snr, "rate_mbps": rate, "latency_s": latency, "accuracy": self.accuracy,
                "shift": self.shift, "action_name": ACTIONS[a]}
        self._drift()
        self.accuracy = min(max(self.accuracy, 0.0), 1.0)
        self.t += 1
        return self._obs(), float(reward), False, self.t >= self.dyn.horizon, info
