"""Console progress of a run: the run folder first, a rich bar per model in a terminal, one line per epoch.

:class:`RunProgress` is what ``qtrain run`` shows on stderr:

* first ``run folder: runs/...`` (so ``tail -f`` and job logs know where the files go);
* in a terminal, a rich bar per model (steps, loss, time left) with one line per epoch printed
  above it;
* when stderr is a file or a pipe (``nohup``, ``sbatch``, ``tee``), no bar but the same plain line
  per epoch, flushed at once, and a ``... step k/n`` line when an epoch runs longer than
  ``heartbeat_s`` without one.

An epoch line names the model, the epoch out of the model's total, every metric of the epoch's
``metrics.jsonl`` record, the learning rate, the epoch's wall time and the model's ETA::

    qt  epoch 3/8  train_loss 0.4123  train_acc 87.12%  test_loss 0.3981  test_acc 88.40%  lr 0.01  12.3 s  ETA 1m02s

:class:`~qtrain.train.loop.TrainLoop` draws through :class:`ProgressBar`, which forwards to the
:class:`RunProgress` made active by :meth:`RunProgress.active` (the runner does this); records
reach :meth:`RunProgress.log` as an observer of :class:`~qtrain.train.context.RunContext`.

Example:
    >>> import io
    >>> out = io.StringIO()
    >>> now = [0.0]
    >>> progress = RunProgress(out, terminal=False, clock=lambda: now[0])
    >>> progress.run_started("runs/demo")
    >>> with progress.active():
    ...     bar = ProgressBar("qt", total=20)
    ...     for _ in range(10):
    ...         bar.advance()
    ...     now[0] = 12.0
    ...     progress.log({"model": "qt", "epoch": 1, "step": 10, "train_loss": 0.5, "train_acc": 0.81, "lr": 1e-3})
    ...     bar.close()
    >>> print(out.getvalue(), end="")
    run folder: runs/demo
    qt  epoch 1/2  train_loss 0.5000  train_acc 81.00%  lr 0.001  12.0 s  ETA 12s
"""
from __future__ import annotations

import contextlib
import contextvars
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Iterator

__all__ = ["ProgressBar", "RunProgress", "epoch_line", "format_duration"]

_ACTIVE: contextvars.ContextVar[RunProgress | None] = contextvars.ContextVar("qtrain_run_progress", default=None)
_SKIP = frozenset({"model", "epoch", "step", "lr", "epoch_time_s", "kind"})


def format_duration(seconds: float) -> str:
    """``"42s"``, ``"3m05s"``, ``"2h07m"`` (``"?"`` when unknown).

    Example:
        >>> format_duration(42.4), format_duration(185), format_duration(7650), format_duration(float("nan"))
        ('42s', '3m05s', '2h07m', '?')
    """
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def _value(key: str, v: Any) -> str | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    if key.endswith("_acc") and 0 <= v <= 1:
        return f"{key} {100 * v:.2f}%"
    return f"{key} {v}" if isinstance(v, int) else f"{key} {v:.4g}" if abs(v) >= 1e4 else f"{key} {v:.4f}"


def epoch_line(record: dict[str, Any], total_epochs: int | None = None, seconds: float | None = None,
               eta_s: float | None = None) -> str:
    """The one-line text of a ``metrics.jsonl`` record (see the module docstring).

    Example:
        >>> epoch_line({"model": "classical", "epoch": 2, "train_loss": 0.25, "val_acc": 0.5, "lr": 0.001}, 4, 3.21)
        'classical  epoch 2/4  train_loss 0.2500  val_acc 50.00%  lr 0.001  3.2 s'
        >>> epoch_line({"model": "qt", "kind": "final", "epoch": 4, "test_acc": 0.9})
        'qt  final (after epoch 4)  test_acc 90.00%'
    """
    head = [str(record.get("model", "run"))]
    if "kind" in record:  # a recipe's own record (e.g. the final evaluation), not an epoch of training
        head.append(str(record["kind"]) + (f" (after epoch {record['epoch']})" if "epoch" in record else ""))
    elif "epoch" in record:
        head.append(f"epoch {record['epoch']}" + (f"/{total_epochs}" if total_epochs else ""))
    parts = [_value(k, v) for k, v in record.items() if k not in _SKIP]
    if isinstance(record.get("lr"), (int, float)):
        parts.append(f"lr {record['lr']:.3g}")
    if seconds is not None:
        parts.append(f"{seconds:.1f} s")
    if eta_s is not None:
        parts.append(f"ETA {format_duration(eta_s)}")
    return "  ".join(head + [p for p in parts if p])


@dataclass
class _Task:
    """A model's bar: total steps, the step count and clock when it started, the rich task."""

    total: int
    start_step: int
    start_time: float
    step: int
    last_line: float
    rich_task: Any = None


class RunProgress:
    """Progress output of one run on a text stream (default stderr); see the module docstring.

    Args:
        stream: where lines go (default ``sys.stderr`` at the time of each write).
        terminal: draw rich bars (``None``: when ``stream`` is a terminal).
        heartbeat_s: in plain mode, print a step line when an epoch has been silent this long (0: never).
        clock: seconds (``time.monotonic``; tests pass a fake).
    """

    def __init__(self, stream: IO[str] | None = None, *, terminal: bool | None = None, heartbeat_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self.terminal = terminal if terminal is not None else bool(getattr(self.stream, "isatty", lambda: False)())
        self.heartbeat_s, self._clock = heartbeat_s, clock
        self._tasks: dict[str, _Task] = {}
        self._last_epoch_time: dict[str, float] = {}
        self._rich: Any = None

    @property
    def stream(self) -> IO[str]:
        """The output stream."""
        return self._stream if self._stream is not None else sys.stderr

    def _print(self, line: str) -> None:
        if self._rich is not None:
            self._rich.console.print(line, markup=False, highlight=False)
        else:
            self.stream.write(line + "\n")
            self.stream.flush()  # a file or pipe shows each line at once (nohup, sbatch, tee)

    @contextlib.contextmanager
    def active(self) -> Iterator[RunProgress]:
        """Make this the target of every :class:`ProgressBar` created inside the block."""
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)
            self._stop_rich()

    def run_started(self, run_dir: str | Path, resumed: bool = False) -> None:
        """The first line: where the run's files go."""
        self._print(f"run folder: {run_dir}" + (" (resumed)" if resumed else ""))

    # ----------------------------------------------------------------- bars (through ProgressBar)
    def start_task(self, tag: str, total: int, completed: int) -> None:
        """A model starts (or resumes) ``total`` steps, ``completed`` of them done."""
        now = self._clock()
        self._tasks[tag] = _Task(total, completed, now, completed, now)
        self._last_epoch_time[tag] = now
        if self.terminal:
            self._start_rich()
            self._tasks[tag].rich_task = self._rich.add_task(tag, total=total, completed=completed, info="")

    def advance(self, tag: str, info: str | None = None) -> None:
        """One step of model ``tag``; ``info`` (e.g. ``"loss 0.41"``) is shown beside the bar."""
        task = self._tasks.get(tag)
        if task is None:
            return
        task.step += 1
        if self._rich is not None and task.rich_task is not None:
            self._rich.update(task.rich_task, advance=1, **({"info": info} if info is not None else {}))
            return
        now = self._clock()
        if self.heartbeat_s and now - task.last_line >= self.heartbeat_s:
            task.last_line = now
            self._print(f"{tag}  step {task.step}/{task.total}" + (f"  {info}" if info else "")
                        + f"  ETA {format_duration(self._eta(task, now))}")

    def end_task(self, tag: str) -> None:
        """Model ``tag`` is done (its bar stops)."""
        self._tasks.pop(tag, None)
        if not self._tasks:  # the finished bar stays on screen, above the next model's
            self._stop_rich()

    # ----------------------------------------------------------------- records (as a RunContext observer)
    def log(self, record: dict[str, Any]) -> None:
        """Print the line of one ``metrics.jsonl`` record."""
        tag = str(record.get("model", "run"))
        task, now = self._tasks.get(tag), self._clock()
        total_epochs = eta = seconds = None
        is_epoch = "epoch" in record and "kind" not in record
        if is_epoch:
            seconds = now - self._last_epoch_time.get(tag, now)
            self._last_epoch_time[tag] = now
        if task is not None and is_epoch:
            step, epoch = int(record.get("step", task.step)), int(record["epoch"])
            per_epoch = step / epoch if epoch and step else 0
            total_epochs = math.ceil(task.total / per_epoch) if per_epoch else None
            task.step, task.last_line = step, now
            eta = self._eta(task, now)
        self._print(epoch_line(record, total_epochs, seconds, eta))

    def rewrite(self, records: list[dict[str, Any]]) -> None:
        """A resume dropped records that will be redone: nothing to take back on a console."""

    def close(self) -> None:
        """Stop drawing."""
        self._stop_rich()

    # ----------------------------------------------------------------- internals
    @staticmethod
    def _eta(task: _Task, now: float) -> float:
        done = task.step - task.start_step
        if done <= 0:
            return math.nan
        return (now - task.start_time) / done * max(task.total - task.step, 0)

    def _start_rich(self) -> None:
        if self._rich is not None:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        console = Console(file=self.stream, force_terminal=True)
        self._rich = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                              TextColumn("{task.fields[info]}"), TimeRemainingColumn(), console=console,
                              transient=False, redirect_stdout=False, redirect_stderr=False)
        self._rich.start()

    def _stop_rich(self) -> None:
        if self._rich is not None:
            self._rich.stop()
            self._rich = None


class ProgressBar:
    """One model's progress (``total`` steps); every method is a no-op when disabled.

    Inside :meth:`RunProgress.active` it reports to that :class:`RunProgress` (bar in a terminal,
    step heartbeat otherwise); outside, it draws its own rich bar on stderr when that is a terminal.

    Example:
        >>> bar = ProgressBar("qt", total=10, enabled=False)
        >>> bar.advance(); bar.close()
    """

    def __init__(self, description: str, total: int, enabled: bool = True, completed: int = 0) -> None:
        self._owner: RunProgress | None = None
        self._tag = description
        if not enabled:
            return
        owner = _ACTIVE.get()
        if owner is None:
            owner = RunProgress(terminal=None)
            if not owner.terminal:  # no run to report to and no terminal: stay silent, as before
                return
        self._owner = owner
        owner.start_task(description, total, completed)

    def advance(self, info: str | None = None) -> None:
        """One step done; ``info`` replaces the text shown after the counter."""
        if self._owner is not None:
            self._owner.advance(self._tag, info)

    def close(self) -> None:
        """Stop drawing."""
        if self._owner is not None:
            self._owner.end_task(self._tag)
            self._owner = None
