"""Exponential moving average (EMA) of a model's trainable parameters.

Evaluating the average of the last few hundred optimizer steps instead of the last step removes
most of the step-to-step noise of a high learning rate: the curve of a Quantum-Train model whose
test accuracy jumps by 2-4 points between epochs becomes smooth. Only trainable floating-point
parameters are averaged; buffers (BatchNorm statistics, a generator's calibration) are used as
they are in the live model.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch
from torch import Tensor, nn

__all__ = ["EMA"]


class EMA:
    """Shadow copies ``s`` of ``model``'s trainable parameters ``p``: ``s <- d s + (1 - d) p`` per update.

    With ``warmup`` the decay of update ``k`` (1-based) is ``min(decay, (1 + k) / (10 + k))``, so the
    average forgets the random initialisation within the first few dozen steps.

    Args:
        model: the trained module (its trainable parameters are copied now).
        decay: the decay ``d`` in ``[0, 1)``; the average spans about ``1 / (1 - d)`` steps.
        warmup: ramp the decay up over the first updates.

    Example:
        >>> m = nn.Linear(2, 1)
        >>> ema = EMA(m, decay=0.9)
        >>> with torch.no_grad():
        ...     _ = m.weight.add_(1.0)
        >>> ema.update(m)
        >>> with ema.applied(m):
        ...     pass  # evaluate here: m holds the averaged weights
    """

    def __init__(self, model: nn.Module, decay: float, warmup: bool = True) -> None:
        if not isinstance(decay, (int, float)) or not 0.0 <= decay < 1.0:
            raise ValueError(f"ema decay={decay!r} must be in [0, 1) (e.g. 0.999: an average over ~1000 steps)")
        self.decay, self.warmup = float(decay), warmup
        self.names = [n for n, p in model.named_parameters() if p.requires_grad and p.is_floating_point()]
        params = dict(model.named_parameters())
        self.shadow = [params[n].detach().clone() for n in self.names]
        self.updates = 0

    def _params(self, model: nn.Module) -> list[Tensor]:
        params = dict(model.named_parameters())
        missing = [n for n in self.names if n not in params]
        if missing:
            raise ValueError(f"model has no parameters {missing}; the EMA was made for another model")
        return [params[n] for n in self.names]

    def current_decay(self) -> float:
        """The decay the next :meth:`update` uses."""
        k = self.updates + 1
        return min(self.decay, (1 + k) / (10 + k)) if self.warmup else self.decay

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Fold ``model``'s current parameters into the average (call after each optimizer step)."""
        d = self.current_decay()
        params = [p.detach() for p in self._params(model)]
        torch._foreach_lerp_(self.shadow, params, 1.0 - d)
        self.updates += 1

    @contextlib.contextmanager
    def applied(self, model: nn.Module) -> Iterator[nn.Module]:
        """Inside the block ``model`` holds the averaged parameters; the trained ones come back after."""
        params = self._params(model)
        with torch.no_grad():
            backup = [p.detach().clone() for p in params]
            for p, s in zip(params, self.shadow):
                p.copy_(s)  # in place: optimizer state and parameter identity stay valid
        try:
            yield model
        finally:
            with torch.no_grad():
                for p, b in zip(params, backup):
                    p.copy_(b)

    def model_state_dict(self, model: nn.Module) -> dict[str, Tensor]:
        """``model.state_dict()`` with the averaged parameters in place of the trained ones."""
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        for name, s in zip(self.names, self.shadow):
            state[name] = s.detach().clone()
        return state

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        """Overwrite ``model``'s trainable parameters with the average (e.g. before export)."""
        for p, s in zip(self._params(model), self.shadow):
            p.copy_(s)

    def state_dict(self) -> dict[str, Any]:
        """Tensors and plain values for a checkpoint."""
        return {"decay": self.decay, "warmup": self.warmup, "updates": self.updates, "names": list(self.names),
                "shadow": [s.clone() for s in self.shadow]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (the parameter names must match)."""
        if list(state["names"]) != self.names:
            raise ValueError(f"EMA checkpoint averages {list(state['names'])} but the model has {self.names}")
        self.decay, self.warmup, self.updates = float(state["decay"]), bool(state["warmup"]), int(state["updates"])
        with torch.no_grad():
            for s, v in zip(self.shadow, state["shadow"]):
                s.copy_(v)
