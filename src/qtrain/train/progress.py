"""Rich progress bars, off when the console is not a terminal or the run is quiet."""
from __future__ import annotations

from typing import Any

__all__ = ["ProgressBar"]


class ProgressBar:
    """One task bar (``total`` steps) drawn on stderr; every method is a no-op when disabled.

    Example:
        >>> bar = ProgressBar("qt", total=10, enabled=False)
        >>> bar.advance(); bar.close()
    """

    def __init__(self, description: str, total: int, enabled: bool = True, completed: int = 0) -> None:
        self._progress: Any = None
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        console = Console(stderr=True)
        if not console.is_terminal:
            return
        self._progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("{task.fields[info]}"), TimeRemainingColumn(), console=console,
                                  transient=False)
        self._task = self._progress.add_task(description, total=total, completed=completed, info="")
        self._progress.start()

    def advance(self, info: str | None = None) -> None:
        """One step done; ``info`` replaces the text shown after the counter."""
        if self._progress is not None:
            kwargs = {"info": info} if info is not None else {}
            self._progress.update(self._task, advance=1, **kwargs)

    def close(self) -> None:
        """Stop drawing."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
