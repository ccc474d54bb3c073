"""What the runner hands a recipe: the run folder, resume flag, quietness, test hooks, record observers, and
where and how to compute: ``ctx.device``, ``ctx.precision`` (autocast of the target network's forward,
:meth:`RunContext.autocast`) and ``ctx.dist`` (this process's rank when training data-parallel).

A recipe builds its models with ``.to(ctx.device)``, moves its data tensors there once with
:meth:`RunContext.to_device`, and runs the target's forward inside ``with ctx.autocast():``.

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

import contextlib
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ContextManager, Protocol, Sequence, TypeVar

import torch

from qtrain.choices import ChoiceEnum, argument
from qtrain.train.distributed import DistInfo
from qtrain.train.rundir import RunDir

__all__ = ["RunContext", "StepHook", "RecordObserver", "ObservedRunDir", "Precision"]

T = TypeVar("T")


@argument("precision")
class Precision(ChoiceEnum):
    """Precision of the target network's forward: float32 (no autocast), or autocast to bf16 / fp16 (CUDA only)."""

    FLOAT32 = "float32"
    BF16 = "bf16"
    FP16 = "fp16"

    @property
    def dtype(self) -> torch.dtype:
        """The autocast dtype (``torch.float32``: no autocast)."""
        return {"float32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[self.value]

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
        device: where the recipe builds its models and puts its data (resolved: never ``"auto"``).
        precision: autocast of the target network's forward (:meth:`autocast`).
        dist: this process's rank and the world size when training data-parallel (``None``: one process).
    """

    run_dir: RunDir
    resume: bool = False
    quiet: bool = False
    on_step: StepHook | None = None
    observers: Sequence[RecordObserver] = ()
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    precision: Precision = Precision.FLOAT32
    dist: DistInfo | None = None

    def __post_init__(self) -> None:
        if self.observers and not isinstance(self.run_dir, ObservedRunDir):
            self.run_dir = ObservedRunDir(Path(self.run_dir.path), tuple(self.observers))
        self.device, self.precision = torch.device(self.device), Precision.parse(self.precision)

    def autocast(self) -> ContextManager[Any]:
        """Autocast to ``precision`` on ``device`` (a no-op for float32): wrap the target network's forward.

        A Quantum-Train generator inside stays in full precision (it turns autocast off for itself).
        """
        if self.precision is Precision.FLOAT32:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.precision.dtype)

    def to_device(self, data: T) -> T:
        """``data`` (a tensor, a ``TensorDataset``, or a tuple/list/dict of those) on ``device``, moved once.

        Example:
            >>> from torch.utils.data import TensorDataset
            >>> ds = RunContext(RunDir(Path("."))).to_device(TensorDataset(torch.zeros(2, 3)))
            >>> ds.tensors[0].device
            device(type='cpu')
        """
        from torch.utils.data import TensorDataset

        if isinstance(data, torch.Tensor):
            return data.to(self.device)  # type: ignore[return-value]
        if isinstance(data, TensorDataset):
            return TensorDataset(*(t.to(self.device) for t in data.tensors))  # type: ignore[return-value]
        if isinstance(data, (tuple, list)):
            moved = [self.to_device(x) for x in data]
            return type(data)(*moved) if hasattr(data, "_fields") else type(data)(moved)  # type: ignore[return-value]
        if isinstance(data, dict):
            return {k: self.to_device(v) for k, v in data.items()}  # type: ignore[return-value]
        if dataclasses.is_dataclass(data) and not isinstance(data, type):  # e.g. ImageSplits(train, val, test)
            return dataclasses.replace(data, **{f.name: self.to_device(getattr(data, f.name))  # type: ignore[misc]
                                                for f in dataclasses.fields(data) if f.init})
        return data

    @property
    def is_main(self) -> bool:
        """Whether this process owns the run folder, the console and the logs (rank 0, or no data parallelism)."""
        return self.dist is None or self.dist.rank == 0
