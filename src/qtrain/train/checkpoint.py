"""Checkpoints that detect damage, refuse non-finite weights, and never leave a partial file.

A checkpoint file is ``MAGIC + sha256(payload) + payload`` where ``payload`` is the
``torch.save`` of the state dict; :func:`load_checkpoint` verifies the digest before unpickling
(``weights_only=True``), so a flipped byte or a truncated file is refused with a clear error
instead of resuming to different weights. Files without the header (written before checksums
existed) still load, through the same restricted ``torch.load``.

Writes go through :func:`qtrain._fileio.atomic_write`: a crash leaves the previous checkpoint.
The NaN guard: :func:`save_checkpoint` refuses to write a state whose model weights are not
finite, so a diverged run keeps its last good checkpoint.
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any, Iterator

import torch

from qtrain._fileio import atomic_write, atomic_write_json, atomic_write_text, clip, safetensors_bytes

__all__ = ["atomic_write", "atomic_write_text", "atomic_write_json", "save_checkpoint", "load_checkpoint",
           "save_model_safetensors", "safetensors_bytes", "nonfinite_tensors", "CHECKPOINT_MAGIC", "CheckpointError"]

CHECKPOINT_MAGIC = b"QTRAINCKPT1\n"
"""First bytes of a checksummed checkpoint; 32 bytes of SHA-256 of the payload follow."""
_HEAD = len(CHECKPOINT_MAGIC) + 32
_ZIP = b"PK\x03\x04"  # torch.save's zip container: a checkpoint written before checksums existed
_FIX = "delete the damaged file (training restarts that model) or start a new run"


class CheckpointError(ValueError):
    """A checkpoint is missing, damaged, truncated or holds non-finite weights (the message names the file)."""


def _tensors(obj: Any, prefix: str = "") -> Iterator[tuple[str, torch.Tensor]]:
    if isinstance(obj, torch.Tensor):
        yield prefix, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _tensors(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _tensors(v, f"{prefix}.{i}" if prefix else str(i))


def nonfinite_tensors(obj: Any) -> list[str]:
    """Dotted names of the floating-point tensors in ``obj`` (nested dicts/lists) holding NaN or inf.

    Example:
        >>> nonfinite_tensors({"model": {"w": torch.tensor([1.0, float("nan")]), "n": torch.tensor([3])}})
        ['model.w']
    """
    return [name for name, t in _tensors(obj)
            if (t.is_floating_point() or t.is_complex()) and not bool(torch.isfinite(t).all())]


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """``torch.save(state)`` with a SHA-256 header, written atomically.

    Raises:
        CheckpointError: ``state["model"]`` holds NaN/inf weights; nothing is written, so the
            previous (last good) checkpoint stays in place.
    """
    path = Path(path)
    bad = nonfinite_tensors(state.get("model", {}))
    if bad:
        raise CheckpointError(f"not writing checkpoint {str(path)!r}: the model's weights {bad[:3]} hold NaN or inf "
                              "(training diverged); the last good checkpoint is kept. Lower the learning rate "
                              "and --resume, or start a new run")
    buf = io.BytesIO()
    torch.save(state, buf)
    payload = buf.getvalue()
    header = CHECKPOINT_MAGIC + hashlib.sha256(payload).digest()
    return atomic_write(path, lambda fh: (fh.write(header), fh.write(payload)))


def _payload(path: Path, data: bytes) -> bytes:
    if data.startswith(CHECKPOINT_MAGIC):
        if len(data) < _HEAD:
            raise CheckpointError(f"checkpoint {str(path)!r} is truncated ({len(data)} bytes, shorter than its "
                                  f"header); {_FIX}")
        payload = data[_HEAD:]
        if hashlib.sha256(payload).digest() != data[len(CHECKPOINT_MAGIC):_HEAD]:
            raise CheckpointError(f"checkpoint {str(path)!r} is damaged: its SHA-256 checksum does not match "
                                  f"its {len(payload)} bytes (a truncated copy or flipped bits); {_FIX}")
        return payload
    if data.startswith(_ZIP):
        return data
    what = "empty" if not data else "not a qtrain checkpoint (unknown header)"
    raise CheckpointError(f"checkpoint {str(path)!r} is {what}; {_FIX}")


def load_checkpoint(path: str | Path, require_finite: bool = True) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` (tensors and plain values only, on CPU).

    Args:
        path: the ``.pt`` file.
        require_finite: refuse a checkpoint whose floating-point tensors hold NaN or inf.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: empty, truncated or damaged file (checksum), content that is not a
            dict of tensors and plain values, or non-finite tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    payload = _payload(path, path.read_bytes())
    try:
        state = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as exc:  # a legacy (unchecked) file can fail in many ways inside torch.load
        raise CheckpointError(f"checkpoint {str(path)!r} cannot be read ({type(exc).__name__}: "
                              f"{clip(str(exc), 160)}); {_FIX}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {str(path)!r} holds a {type(state).__name__}, not a dict of state; {_FIX}")
    bad = nonfinite_tensors(state) if require_finite else []
    if bad:
        raise CheckpointError(f"checkpoint {str(path)!r} holds NaN or inf in {bad[:3]}"
                              f"{f' and {len(bad) - 3} more' if len(bad) > 3 else ''}; resuming from it would "
                              f"train on garbage; {_FIX}")
    return state


def save_model_safetensors(model: torch.nn.Module, directory: str | Path) -> Path:
    """Write ``directory/model.safetensors`` atomically: the plain weights a user loads without qtrain.

    Models that generate their weights (anything with an ``export()`` method returning a plain
    module, e.g. :class:`qtrain.QuantumTrain`) save the generated classical weights; others their
    ``state_dict``. Identical weights give identical bytes.

    Raises:
        CheckpointError: the weights hold NaN or inf (an existing ``model.safetensors`` is kept).
    """
    path = Path(directory) / "model.safetensors"
    metadata = {"format": "pt"}
    if callable(getattr(model, "export", None)):
        metadata["producer"] = f"qtrain.{type(model).__name__}.export"
        model = model.export()  # type: ignore[operator]
    metadata["target_class"] = f"{type(model).__module__}.{type(model).__qualname__}"
    # safetensors files are read on any machine: the bytes are written from host memory
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    bad = nonfinite_tensors(tensors)
    if bad:
        raise CheckpointError(f"not writing {str(path)!r}: the weights {bad[:3]} hold NaN or inf (training "
                              "diverged); lower the learning rate and train again")
    return atomic_write(path, lambda fh: fh.write(safetensors_bytes(tensors, metadata)))
