"""Device arguments: one check that a device exists here, with one clear error when it does not.

Example:
    >>> check_device("cpu")
    device(type='cpu')
    >>> check_device("gpu")
    Traceback (most recent call last):
    ...
    ValueError: device='gpu' is not a device; use 'cpu', 'cuda' or 'cuda:N'
"""
from __future__ import annotations

import torch

__all__ = ["check_device"]


def check_device(device: torch.device | str | None, argument: str = "device") -> torch.device:
    """``device`` as a :class:`torch.device` (None: CPU), after checking that it exists here.

    Raises:
        ValueError: naming ``argument``, the value and the fix, for a string that is no device, for
            CUDA on a machine (or torch build) without it, and for a CUDA index out of range.
    """
    if device is None:
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"{argument}={device!r} is not a device; use 'cpu', 'cuda' or 'cuda:N'") from None
    if dev.type != "cuda":
        return dev
    if not torch.cuda.is_available():
        why = "this torch build has no CUDA" if torch.version.cuda is None else "no CUDA device is visible"
        raise ValueError(f"{argument}={str(device)!r} is not available: {why} (torch {torch.__version__}); "
                         f"use {argument}='cpu', or a CUDA build of torch on a machine with an NVIDIA GPU")
    count = torch.cuda.device_count()
    if dev.index is not None and dev.index >= count:
        raise ValueError(f"{argument}={str(device)!r} does not exist: {count} CUDA device(s) visible; "
                         f"use {argument}='cuda:0'" + (f" to 'cuda:{count - 1}'" if count > 1 else ""))
    return dev
