"""Early stopping on a validation metric."""
from __future__ import annotations

import math
from typing import Any, Literal

__all__ = ["EarlyStopping"]


class EarlyStopping:
    """Stop after ``patience`` epochs in a row without an improvement larger than ``min_delta``.

    Args:
        patience: non-improving epochs tolerated; ``0`` disables stopping (best is still tracked).
        mode: ``"max"`` (accuracy) or ``"min"`` (loss).
        min_delta: smallest change that counts as an improvement.

    Example:
        >>> es = EarlyStopping(patience=2, mode="max")
        >>> [es.update(v) for v in (0.5, 0.6, 0.6, 0.59)]
        [True, True, False, False]
        >>> es.should_stop, es.bad_epochs
        (True, 2)
    """

    def __init__(self, patience: int, mode: Literal["max", "min"] = "max", min_delta: float = 0.0) -> None:
        if not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience={patience!r} must be an integer >= 0 (0 disables early stopping)")
        if mode not in ("max", "min"):
            raise ValueError(f"mode={mode!r} is unknown; use 'max' (accuracy) or 'min' (loss)")
        if min_delta < 0:
            raise ValueError(f"min_delta={min_delta!r} must be >= 0")
        self.patience, self.mode, self.min_delta = patience, mode, min_delta
        self.best = -math.inf if mode == "max" else math.inf
        self.best_epoch = -1
        self.bad_epochs = 0
        self._epoch = -1

    def update(self, value: float) -> bool:
        """Record one epoch's metric; ``True`` if it is a new best."""
        self._epoch += 1
        better = value > self.best + self.min_delta if self.mode == "max" else value < self.best - self.min_delta
        if better:
            self.best, self.best_epoch, self.bad_epochs = float(value), self._epoch, 0
        else:
            self.bad_epochs += 1
        return better

    @property
    def should_stop(self) -> bool:
        """``True`` once ``patience`` (> 0) epochs in a row did not improve."""
        return self.patience > 0 and self.bad_epochs >= self.patience

    def state_dict(self) -> dict[str, Any]:
        """Plain values for a checkpoint."""
        return {"best": self.best, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs, "epoch": self._epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        self.best, self.best_epoch = float(state["best"]), int(state["best_epoch"])
        self.bad_epochs, self._epoch = int(state["bad_epochs"]), int(state["epoch"])
