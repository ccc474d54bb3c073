"""File writes shared by run folders, caches and configs: atomic, one file mode, strict JSON.

Torch-free on purpose: :mod:`qtrain.config` writes ``config.yaml`` through it without importing torch.

* :func:`atomic_write` writes a temporary file next to the target, fsyncs it and renames it over the
  target, so a crash leaves either the old or the new content, never a mix. Temporary names carry
  the writer's pid (``.<name>.<pid>.<random>.tmp``) so that :func:`clean_stale_temps` can remove
  the leftovers of killed writers without touching those of live ones.
* Every file gets the mode an ordinary ``open(path, "w")`` would give (``0o666`` minus the umask);
  ``tempfile.mkstemp`` alone would leave ``0o600``.
* :func:`strict_json` writes NaN and infinities as ``null`` and lists where they were, so that
  every JSON file is valid JSON (Python's ``json`` writes bare ``NaN`` by default).

Example:
    >>> text = strict_json({"loss": float("nan"), "acc": 0.5})
    >>> text
    '{"loss": null, "acc": 0.5, "nonfinite": ["loss"]}'
"""
from __future__ import annotations

import json
import math
import os
import re
import struct
import tempfile
from pathlib import Path
from typing import IO, Any, Callable

__all__ = ["NONFINITE_KEY", "file_mode", "atomic_write", "atomic_write_text", "atomic_write_json", "strict_json",
           "finite_json", "clean_stale_temps", "clip", "short", "read_npz", "safetensors_bytes"]

NONFINITE_KEY = "nonfinite"
"""Key listing the (dotted) paths whose non-finite values were written as ``null``."""
_TEMP = re.compile(r"^\..+\.(\d+)\.[^.]+\.tmp$")


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask would, briefly, for every thread)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode of a newly created ordinary file: ``0o666 & ~umask`` (``0o644`` under the usual umask 022)."""
    return 0o666 & ~_umask()


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(fh)`` on a temporary file next to ``path``, fsync it, then ``os.replace`` it.

    If ``write`` (or the flush) raises, the temporary file is removed and ``path`` keeps its
    previous content (or stays absent). The file gets :func:`file_mode`.

    Example:
        >>> atomic_write("/tmp/x.bin", lambda fh: fh.write(b"ok"))  # doctest: +SKIP
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            if hasattr(os, "fchmod"):  # POSIX; mkstemp alone would leave 0o600
                os.fchmod(fh.fileno(), file_mode())
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


def finite_json(obj: Any, prefix: str = "", found: list[str] | None = None) -> tuple[Any, list[str]]:
    """``obj`` with every non-finite float replaced by ``None``, and the dotted paths replaced.

    Example:
        >>> finite_json({"a": [1.0, float("inf")], "b": {"c": float("nan")}})
        ({'a': [1.0, None], 'b': {'c': None}}, ['a.1', 'b.c'])
    """
    found = [] if found is None else found
    if isinstance(obj, float) and not math.isfinite(obj):
        found.append(prefix or "<value>")
        return None, found
    if isinstance(obj, dict):
        return {k: finite_json(v, f"{prefix}.{k}" if prefix else str(k), found)[0] for k, v in obj.items()}, found
    if isinstance(obj, (list, tuple)):
        return [finite_json(v, f"{prefix}.{i}" if prefix else str(i), found)[0] for i, v in enumerate(obj)], found
    return obj, found


def strict_json(obj: Any, indent: int | None = None) -> str:
    """JSON text of ``obj`` with NaN/inf written as ``null``; a dict gets ``"nonfinite": [paths]`` if any were."""
    clean, found = finite_json(obj)
    if found and isinstance(clean, dict):
        clean[NONFINITE_KEY] = sorted(set(clean.get(NONFINITE_KEY) or []) | set(found))
    return json.dumps(clean, indent=indent, allow_nan=False)


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Atomically write ``obj`` as indented strict JSON (see :func:`strict_json`)."""
    return atomic_write_text(path, strict_json(obj, indent=2) + "\n")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def clean_stale_temps(folder: str | Path, recursive: bool = True) -> list[Path]:
    """Remove the temporary files of :func:`atomic_write` whose writer process no longer exists.

    Returns:
        The removed paths (sorted).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for p in folder.rglob(".*.tmp") if recursive else folder.glob(".*.tmp"):
        m = _TEMP.match(p.name)
        if m and p.is_file() and not _alive(int(m.group(1))):
            p.unlink(missing_ok=True)
            removed.append(p)
    return sorted(removed)


def clip(text: str, limit: int = 300) -> str:
    """``text`` on one line, cut to about ``limit`` characters (error messages stay readable)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def short(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to about ``limit`` characters (a value quoted in an error message)."""
    try:
        text = repr(value)
    except RecursionError:  # a self-referencing container
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def read_npz(path: str | Path, names: tuple[str, ...]) -> dict[str, Any]:
    """The arrays ``names`` of an ``.npz`` file, each checked against the file before it is allocated.

    ``np.load`` allocates what an array's header declares before reading its data; here every
    header is read first and must declare a numeric (or string) dtype and no more bytes than its
    zip member holds.

    Raises:
        ValueError: not a zip, a missing array, an object dtype, a header larger than its data,
            a CRC error (one line naming the file).
    """
    import zipfile

    import numpy as np

    where = f"{str(path)!r}"
    try:
        with zipfile.ZipFile(path) as zf:
            infos = {i.filename: i for i in zf.infolist()}
            for name in names:
                info = infos.get(f"{name}.npy")
                if info is None:
                    raise ValueError(f"{where} has no array {name!r} (holds {sorted(infos)[:8]})")
                with zf.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    reader = np.lib.format.read_array_header_1_0 if version == (1, 0) \
                        else np.lib.format.read_array_header_2_0
                    shape, _, dtype = reader(fh)
                need = math.prod(shape) * dtype.itemsize
                if dtype.hasobject or need > info.file_size:
                    raise ValueError(f"{where}: array {name!r} declares {shape} {dtype} ({need:,} bytes) but its "
                                     f"member holds {info.file_size:,} bytes, or an object dtype")
        with np.load(path, allow_pickle=False) as z:
            return {name: z[name] for name in names}
    except ValueError as exc:
        raise ValueError(clip(str(exc) if str(exc).startswith(where) else f"{where}: {exc}", 300)) from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ValueError(f"{where} is not a readable .npz file ({type(exc).__name__}: {clip(str(exc), 100)})") from None


def safetensors_bytes(tensors: dict[str, Any], metadata: dict[str, str] | None = None) -> bytes:
    """``safetensors.torch.save`` with the header's metadata in sorted order: same tensors, same bytes.

    The safetensors writer keeps metadata in a hash map, so its order (and the file's bytes)
    changes from one process to the next; the header is rewritten here as canonical JSON (sorted
    metadata, 8-byte padded as the format requires). Tensor data and offsets are untouched.
    """
    from safetensors.torch import save

    raw = save(tensors, metadata=metadata)
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    if "__metadata__" in header:
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + raw[8 + n:]
