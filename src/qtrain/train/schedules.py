"""Per-step learning-rate schedules: linear warmup, then cosine decay to a floor.

A high constant learning rate gets a Quantum-Train model near its best accuracy within an
epoch or two and then keeps it bouncing (2-4 test-accuracy points from epoch to epoch);
decaying the rate to a small floor over the run lets it settle. The warmup keeps the first steps,
taken with Adam's not yet calibrated second moments, from throwing the model far from its start.
"""
from __future__ import annotations

import math

import torch

__all__ = ["WarmupCosine", "warmup_cosine"]


class WarmupCosine:
    """The factor of the base learning rate at optimizer step ``k`` (0-based).

    ``(k + 1) / warmup_steps`` during the warmup, then ``min_ratio + (1 - min_ratio) (1 + cos(pi t)) / 2``
    with ``t`` going from 0 to 1 over the remaining steps (``min_ratio`` after ``total_steps``).

    Args:
        total_steps: optimizer steps of the whole run (warmup included).
        warmup_steps: steps of the linear warmup (0: none).
        min_ratio: the final factor in ``[0, 1]``.

    Example:
        >>> f = WarmupCosine(total_steps=10, warmup_steps=2, min_ratio=0.1)
        >>> [round(f(k), 3) for k in (0, 1, 2, 6, 10)]
        [0.5, 1.0, 1.0, 0.55, 0.1]
    """

    def __init__(self, total_steps: int, warmup_steps: int = 0, min_ratio: float = 0.0) -> None:
        if not isinstance(total_steps, int) or total_steps < 1:
            raise ValueError(f"total_steps={total_steps!r} must be an integer >= 1")
        if not isinstance(warmup_steps, int) or not 0 <= warmup_steps <= total_steps:
            raise ValueError(f"warmup_steps={warmup_steps!r} must be an integer in [0, total_steps={total_steps}]")
        if not isinstance(min_ratio, (int, float)) or not 0.0 <= min_ratio <= 1.0:
            raise ValueError(f"min_ratio={min_ratio!r} must be in [0, 1] (the final fraction of the learning rate)")
        self.total_steps, self.warmup_steps, self.min_ratio = total_steps, warmup_steps, float(min_ratio)

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        span = max(self.total_steps - self.warmup_steps, 1)
        t = min((step - self.warmup_steps) / span, 1.0)
        return self.min_ratio + (1.0 - self.min_ratio) * 0.5 * (1.0 + math.cos(math.pi * t))


def warmup_cosine(optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int = 0,
                  min_ratio: float = 0.0) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` applying :class:`WarmupCosine` to every parameter group; call ``.step()`` after each step.

    Its ``state_dict`` holds only numbers (the factor is a callable object), so it checkpoints and
    resumes exactly.
    """
    return torch.optim.lr_scheduler.LambdaLR(optimizer, WarmupCosine(total_steps, warmup_steps, min_ratio))
