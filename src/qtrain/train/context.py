"""What the runner hands a recipe: the run folder, resume flag, quietness and test hooks."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from qtrain.train.rundir import RunDir

__all__ = ["RunContext", "StepHook"]

StepHook = Callable[[str, int, float], None]
"""Called after every optimizer step with ``(model tag, global step, batch loss)``; raising from it simulates a crash."""


@dataclass
class RunContext:
    """Run-wide settings shared by every :class:`~qtrain.train.loop.TrainLoop` of a recipe.

    Attributes:
        run_dir: the run folder.
        resume: continue from the checkpoints in ``run_dir`` instead of starting fresh.
        quiet: no progress bars.
        on_step: optional hook after every optimizer step (tests use it to simulate a kill).
    """

    run_dir: RunDir
    resume: bool = False
    quiet: bool = False
    on_step: StepHook | None = None
