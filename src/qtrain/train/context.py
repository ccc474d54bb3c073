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
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, Sequence, TypeVar

import torch
from torch import nn

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


def _to_float32(x: Any) -> Any:
    return x.float() if isinstance(x, torch.Tensor) and x.dtype in (torch.bfloat16, torch.float16) else x


@functools.lru_cache(maxsize=1)
def _hybrid_layer_classes() -> tuple[type, ...]:
    """Every ``nn.Module`` class defined in :mod:`qtrain.hybrid` (layers that put data through a circuit)."""
    import importlib
    import pkgutil

    import qtrain.hybrid as hybrid

    found: list[type] = []
    for info in pkgutil.iter_modules(hybrid.__path__):
        mod = importlib.import_module(f"{hybrid.__name__}.{info.name}")
        found += [c for c in vars(mod).values() if isinstance(c, type) and issubclass(c, nn.Module)
                  and c.__module__ == mod.__name__]
    return tuple(found)


def _full_precision_hooks(model: nn.Module, device_type: str) -> list[Any]:
    """Hooks running each hybrid quantum layer of ``model`` without autocast, on float32 inputs."""
    kinds = _hybrid_layer_classes()
    handles: list[Any] = []
    for module in model.modules():
        if not isinstance(module, kinds):
            continue
        held: list[Any] = []

        def enter(_m: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], held: list[Any] = held) -> Any:
            held.append(torch.autocast(device_type, enabled=False))
            held[-1].__enter__()
            return tuple(_to_float32(a) for a in args), {k: _to_float32(v) for k, v in kwargs.items()}

        def leave(_m: nn.Module, _args: Any, _kwargs: Any, _out: Any, held: list[Any] = held) -> None:
            held.pop().__exit__(None, None, None)

        handles += [module.register_forward_pre_hook(enter, with_kwargs=True),
                    module.register_forward_hook(leave, with_kwargs=True, always_call=True)]
    return handles


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

    @contextlib.contextmanager
    def autocast(self, model: nn.Module | None = None) -> Iterator[None]:
        """Autocast to ``precision`` on ``device`` (a no-op for float32): wrap the target network's forward.

        Circuits stay in full precision: a Quantum-Train generator turns autocast off for itself, and
        every hybrid quantum layer of ``model`` (the ``nn.Module`` classes of :mod:`qtrain.hybrid`) runs
        with autocast off and its floating inputs cast back to float32.
        """
        if self.precision is Precision.FLOAT32:
            yield
            return
        handles = _full_precision_hooks(model, self.device.type) if model is not None else []
        try:
            with torch.autocast(self.device.type, dtype=self.precision.dtype):
                yield
        finally:
            for h in handles:
                h.remove()

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
