"""Stop training at the first non-finite loss or weight, before anything is saved from it.

A diverged run (learning rate far too high) produces ``nan``/``inf`` losses from then on; saving
its weights would overwrite the last good checkpoint and the exported model with garbage.
:class:`~qtrain.train.loop.TrainLoop` checks every step's loss and the weights before every
checkpoint, and raises :class:`NonFiniteLossError`, which the CLI prints as one line.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import torch
from torch import Tensor

__all__ = ["NonFiniteLossError", "DEFAULT_HINT", "first_nonfinite"]

DEFAULT_HINT = "lower the learning rate or clip the gradients"


class NonFiniteLossError(ValueError):
    """Training produced a ``nan``/``inf`` loss (or weights); nothing was saved from that step on.

    Attributes:
        tag: the model's name (``"classical"``, ``"qt"``, ...).
        step: the 1-based optimizer step whose loss (or resulting weights) was not finite.
        value: the offending loss (``nan`` for non-finite weights).
        checkpoint: the last checkpoint left on disk (``None`` if none was written yet).
    """

    def __init__(self, tag: str, step: int, epoch: int, value: float, lr: float, checkpoint: Path | None,
                 checkpoint_step: int | None, hint: str = DEFAULT_HINT, what: str = "the training loss") -> None:
        self.tag, self.step, self.value, self.checkpoint = tag, step, value, checkpoint
        kept = (f"the last finite checkpoint {str(checkpoint)!r} (step {checkpoint_step}) is kept"
                if checkpoint is not None else "no checkpoint had been written yet")
        super().__init__(f"model {tag!r}: {what} is {value} at step {step} (epoch {epoch}, lr {lr:g}); training "
                         f"stopped and nothing was saved from this step on; {kept}; fix: {hint}")


def first_nonfinite(named: Iterable[tuple[str, Tensor]]) -> str | None:
    """The name of the first tensor holding a ``nan`` or ``inf`` (``None`` if all are finite)."""
    for name, t in named:
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            return name
    return None
