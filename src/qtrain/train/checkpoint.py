"""Atomic file writes and checkpoints: a crash never leaves a partial file under the final name."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Callable

import torch

__all__ = ["atomic_write", "atomic_write_text", "atomic_write_json", "save_checkpoint", "load_checkpoint"]


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(fh)`` on a temporary file next to ``path``, fsync it, then ``os.replace`` it.

    If ``write`` (or the flush) raises, the temporary file is removed and ``path`` keeps its
    previous content (or stays absent).

    Example:
        >>> atomic_write("/tmp/x.bin", lambda fh: fh.write(b"ok"))  # doctest: +SKIP
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Atomically write UTF-8 ``text`` to ``path``."""
    return atomic_write(path, lambda fh: fh.write(text.encode()))


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Atomically write ``obj`` as indented JSON."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """``torch.save(state)`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda fh: torch.save(state, fh))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` (tensors and plain values only, on CPU)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    return torch.load(path, map_location="cpu", weights_only=True)


def save_model_safetensors(model: torch.nn.Module, directory: str | Path) -> Path:
    """Write ``directory/model.safetensors`` atomically: the plain weights a user loads without qtrain.

    Models that generate their weights (anything with an ``export(dir)`` method, e.g.
    :class:`qtrain.QuantumTrain`) export their generated classical weights; others save their
    ``state_dict``.
    """
    path = Path(directory) / "model.safetensors"
    if callable(getattr(model, "export", None)):
        model.export(directory)  # type: ignore[operator]
        return path
    from safetensors.torch import save

    tensors = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    meta = {"format": "pt", "target_class": f"{type(model).__module__}.{type(model).__qualname__}"}
    return atomic_write(path, lambda fh: fh.write(save(tensors, metadata=meta)))
