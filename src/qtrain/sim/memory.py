"""Check that a statevector fits before allocating it.

The memory a process may still use is the least of: the system's available memory, the headroom
under its cgroup limit (containers) and the headroom under its address-space limit
(``ulimit -v`` / ``RLIMIT_AS``). ``QTRAIN_MEMORY_LIMIT_GB`` overrides all three.

Example:
    >>> import torch
    >>> check_state_fits(10, 1, torch.float32, torch.device("cpu"))  # 4 KiB: fits
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

__all__ = ["available_bytes", "check_state_fits"]

# States up to this size are not worth a look at the system's free memory (a file read per call).
_ALWAYS_FITS = 2**26
_UNLIMITED = 2**62


def _read_int(path: str, key: str | None = None) -> int | None:
    """An integer file (or the ``key:`` line of one, in kB); None when absent or unlimited."""
    try:
        text = Path(path).read_text()
    except OSError:
        return None
    if key is not None:
        line = next((ln for ln in text.splitlines() if ln.startswith(key + ":")), None)
        return int(line.split()[1]) * 1024 if line else None
    text = text.strip()
    return int(text) if text.isdigit() and int(text) < _UNLIMITED else None


def _cgroup_headroom() -> int | None:
    for limit, usage in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),  # cgroup v2
                         ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                          "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        lim = _read_int(limit)
        if lim is not None:
            return max(0, lim - (_read_int(usage) or 0))
    return None


def _address_space_headroom() -> int | None:
    try:
        import resource
    except ImportError:  # pragma: no cover - non-POSIX
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return None
    return max(0, soft - (_read_int("/proc/self/status", "VmSize") or 0))


def available_bytes(device: torch.device) -> int:
    """Memory this process may still allocate on ``device`` (``QTRAIN_MEMORY_LIMIT_GB`` overrides)."""
    limit = os.environ.get("QTRAIN_MEMORY_LIMIT_GB")
    if limit:
        return int(float(limit) * 2**30)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    system = _read_int("/proc/meminfo", "MemAvailable")
    if system is None:  # pragma: no cover - non-Linux
        system = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    return min(x for x in (system, _cgroup_headroom(), _address_space_headroom()) if x is not None)


def check_state_fits(n_qubits: int, batch: int, dtype: torch.dtype, device: torch.device, copies: int = 4) -> None:
    """Raise ``ValueError`` when ``copies`` statevectors of this size would not fit in memory."""
    itemsize = dtype.itemsize
    need = copies * batch * (2**n_qubits) * itemsize
    if need <= _ALWAYS_FITS and not os.environ.get("QTRAIN_MEMORY_LIMIT_GB"):
        return
    have = available_bytes(device)
    if need > have:
        gib = 2**30
        raise ValueError(
            f"a {n_qubits}-qubit state in {str(dtype).replace('torch.', '')} with batch {batch} needs about "
            f"{need / gib:.1f} GiB ({copies} statevectors of {batch * 2**n_qubits * itemsize / gib:.2f} GiB) but "
            f"only {have / gib:.1f} GiB is available on {device}; use fewer qubits or a smaller batch"
            + (", or a real dtype (float32) for real circuits" if dtype.is_complex else "")
        )
