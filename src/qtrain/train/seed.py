"""Seeding and RNG state capture/restore (python, numpy, torch, CUDA) for exact resumes.

States are stored as tensors and plain Python values so checkpoints load with
``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import contextlib
import os
import random
from typing import Any, Iterator

import numpy as np
import torch

__all__ = ["seed_everything", "capture_rng_state", "restore_rng_state", "preserved_torch_settings"]


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed python, numpy and torch (all devices); optionally ask torch for deterministic kernels.

    ``deterministic`` sets the cuDNN flags and, when CUDA is available, turns on
    ``torch.use_deterministic_algorithms`` (warn-only). On CPU-only machines that call is skipped:
    it costs about 2 s on first use, and the CPU kernels the recipes use are deterministic at a
    fixed thread count (the exact-resume tests check bit-identical weights).

    Example:
        >>> seed_everything(0); a = torch.rand(2)
        >>> seed_everything(0); torch.equal(a, torch.rand(2))
        True
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative integer")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        # cuBLAS needs this workspace setting for deterministic matmuls on CUDA >= 10.2.
        if torch.cuda.is_available():
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def capture_rng_state() -> dict[str, Any]:
    """The current python, numpy, torch (and CUDA) RNG states."""
    py_version, py_state, py_gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": {"version": py_version, "state": torch.tensor(py_state, dtype=torch.int64), "gauss": py_gauss},
        "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`capture_rng_state` returned."""
    py = state["python"]
    random.setstate((py["version"], tuple(int(v) for v in py["state"].tolist()), py["gauss"]))
    npy = state["numpy"]
    np.random.set_state((npy["name"], npy["keys"].numpy().astype(np.uint32), npy["pos"], npy["has_gauss"],
                         npy["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


@contextlib.contextmanager
def preserved_torch_settings() -> Iterator[None]:
    """Restore torch's thread count and determinism flags on exit (a run must not leak them).

    Example:
        >>> with preserved_torch_settings():
        ...     torch.set_num_threads(1)
    """
    threads = torch.get_num_threads()
    det, warn = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        now = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
        if now != (det, warn):
            torch.use_deterministic_algorithms(det, warn_only=warn)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn
