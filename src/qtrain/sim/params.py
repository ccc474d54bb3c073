"""Validation of the runtime arguments every executor takes: weights and per-sample inputs."""
from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["prepare_arguments"]


def prepare_arguments(weights: Tensor | None, inputs: Tensor | None, *, n_params: int, n_inputs: int,
                      dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor | None, int]:
    """Check shapes, cast to ``dtype``/``device``; returns ``(weights, inputs, batch)``.

    Raises:
        ValueError: naming the argument, the shape received and the shape expected.
    """
    weights = torch.zeros(0) if weights is None else torch.as_tensor(weights)
    if weights.dim() != 1 or weights.shape[0] < n_params:
        raise ValueError(
            f"weights must be a 1-D tensor with at least {n_params} entries "
            f"(the circuit's n_params), got shape {tuple(weights.shape)}"
        )
    weights = weights.to(device=device, dtype=dtype)
    if not n_inputs:
        return weights, inputs, 1
    if inputs is None:
        raise ValueError(f"this circuit reads {n_inputs} per-sample input(s); pass inputs of shape (B, {n_inputs})")
    inputs = torch.as_tensor(inputs)
    if inputs.dim() != 2 or inputs.shape[1] < n_inputs:
        raise ValueError(f"inputs must have shape (B, >={n_inputs}), got {tuple(inputs.shape)}")
    inputs = inputs.to(device=device, dtype=dtype)
    return weights, inputs, inputs.shape[0]
