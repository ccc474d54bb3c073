"""What the runner hands a recipe: the run folder, resume flag, quietness, test hooks and record observers.

Every ``metrics.jsonl`` record of a run passes through ``ctx.run_dir.append_metrics`` (the
:class:`~qtrain.train.loop.TrainLoop` writes one per epoch and model; recipes may add their own).
When the context has observers (the metric loggers of :mod:`qtrain.train.loggers`, the console
:class:`~qtrain.train.progress.RunProgress`), its ``run_dir`` is an :class:`ObservedRunDir` that
hands each record to them right after writing it, so they see exactly the lines of the file.

Example:
    >>> import tempfile
    >>> seen = []
    >>> class Printer:
    ...     def log(self, record): seen.append(record["epoch"])
    ...     def rewrite(self, records): seen.append(len(records))
    ...     def close(self): pass
    >>> ctx = RunContext(RunDir(Path(tempfile.mkdtemp())), observers=[Printer()])
    >>> ctx.run_dir.append_metrics({"model": "qt", "epoch": 1}); ctx.run_dir.append_metrics({"model": "qt", "epoch": 2})
    >>> ctx.run_dir.filter_metrics(lambda r: r["epoch"] < 2)
    >>> seen, len(ctx.run_dir.read_metrics())
    ([1, 2, 1], 1)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence

from qtrain.train.rundir import RunDir

__all__ = ["RunContext", "StepHook", "RecordObserver", "ObservedRunDir"]

StepHook = Callable[[str, int, float], None]
"""Called after every optimizer step with ``(model tag, global step, batch loss)``; raising from it simulates
a crash."""


class RecordObserver(Protocol):
    """Sees every ``metrics.jsonl`` record of a run (metric loggers, the console progress)."""

    def log(self, record: dict[str, Any]) -> None:
        """One record was appended."""

    def rewrite(self, records: list[dict[str, Any]]) -> None:
        """A resume dropped records it will redo; ``records`` is what the file holds now."""

    def close(self) -> None:
        """The run is over (flush, finish uploads)."""


@dataclass(frozen=True)
class ObservedRunDir(RunDir):
    """A :class:`RunDir` whose ``metrics.jsonl`` writes are also handed to ``observers``."""

    observers: tuple[RecordObserver, ...] = field(default=(), compare=False)

    def append_metrics(self, record: dict[str, Any]) -> None:
        """Append one line to ``metrics.jsonl``, then give the record to each observer."""
        super().append_metrics(record)
        for obs in self.observers:
            obs.log(dict(record))

    def filter_metrics(self, keep: Callable[[dict[str, Any]], bool]) -> None:
        """Rewrite ``metrics.jsonl`` with the records ``keep`` accepts, then tell each observer."""
        super().filter_metrics(keep)
        records = self.read_metrics()
        for obs in self.observers:
            obs.rewrite(records)


@dataclass
class RunContext:
    """Run-wide settings shared by every :class:`~qtrain.train.loop.TrainLoop` of a recipe.

    Attributes:
        run_dir: the run folder (an :class:`ObservedRunDir` when there are observers).
        resume: continue from the checkpoints in ``run_dir`` instead of starting fresh.
        quiet: no progress bars.
        on_step: optional hook after every optimizer step (tests use it to simulate a kill).
        observers: objects that see every ``metrics.jsonl`` record (loggers, console progress).
    """

    run_dir: RunDir
    resume: bool = False
    quiet: bool = False
    on_step: StepHook | None = None
    observers: Sequence[RecordObserver] = ()

    def __post_init__(self) -> None:
        if self.observers and not isinstance(self.run_dir, ObservedRunDir):
            self.run_dir = ObservedRunDir(Path(self.run_dir.path), tuple(self.observers))
