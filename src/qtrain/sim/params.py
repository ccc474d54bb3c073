"""Validation of the runtime arguments every executor takes: weights and per-sample inputs."""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

__all__ = ["prepare_arguments"]


def _as_tensor(value: Any, dtype: torch.dtype, device: torch.device) -> Tensor:
    """A tensor keeps its autograd graph; anything else (lists, NumPy) is read straight in ``dtype``
    (a Python list of floats must not pass through float32 on its way to a float64 circuit)."""
    if isinstance(value, Tensor):
        return value
    return torch.as_tensor(value, dtype=dtype, device=device)


def _check_finite(name: str, t: Tensor, fix: str) -> None:
    # one reduction on the hot path: NaN and +-inf propagate into the sum, so a finite sum means
    # finite entries; only a non-finite sum (or an overflowing one) pays for the full search.
    # Reading it back is a host sync, which a CUDA graph being captured cannot contain: captured
    # steps are checked when they are first run eagerly (warm-up), not on replay.
    if t.numel() == 0 or (t.is_cuda and torch.cuda.is_current_stream_capturing()):
        return
    if math.isfinite(float(t.detach().sum())):
        return
    bad = (~torch.isfinite(t.detach())).nonzero()
    if len(bad):
        where = tuple(bad[0].tolist())
        raise ValueError(
            f"{name} must be finite, got {t[where].item()} at index {where[0] if len(where) == 1 else where} "
            f"({len(bad)} non-finite value(s) of {t.numel()}); {fix}"
        )


def prepare_arguments(weights: Tensor | None, inputs: Tensor | None, *, n_params: int, n_inputs: int,
                      dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor | None, int]:
    """Check shapes and values, cast to ``dtype``/``device``; returns ``(weights, inputs, batch)``.

    Raises:
        ValueError: naming the argument, the shape (or value) received and what is expected; NaN
            or infinite angles are refused rather than turned into NaN probabilities.

    Example:
        >>> w, x, b = prepare_arguments([0.1, 0.2], None, n_params=2, n_inputs=0, dtype=torch.float64,
        ...                             device=torch.device("cpu"))
        >>> w.dtype, float(w[0]) == 0.1, b
        (torch.float64, True, 1)
    """
    weights = torch.zeros(0) if weights is None else _as_tensor(weights, dtype, device)
    if weights.dim() != 1 or weights.shape[0] < n_params:
        raise ValueError(
            f"weights must be a 1-D tensor with at least {n_params} entries "
            f"(the circuit's n_params), got shape {tuple(weights.shape)}"
        )
    weights = weights.to(device=device, dtype=dtype)
    _check_finite("weights", weights[:n_params], "check the learning rate and the loss for divergence")
    if not n_inputs:
        return weights, inputs, 1
    if inputs is None:
        raise ValueError(f"this circuit reads {n_inputs} per-sample input(s); pass inputs of shape (B, {n_inputs})")
    inputs = _as_tensor(inputs, dtype, device)
    if inputs.dim() != 2 or inputs.shape[1] < n_inputs:
        raise ValueError(f"inputs must have shape (B, >={n_inputs}), got {tuple(inputs.shape)}")
    inputs = inputs.to(device=device, dtype=dtype)
    _check_finite("inputs", inputs, "clean or clip the data that feeds the angle encoding")
    return weights, inputs, inputs.shape[0]
