"""Check that a statevector fits before allocating it."""
from __future__ import annotations

import os

import torch

__all__ = ["available_bytes", "check_state_fits"]


def available_bytes(device: torch.device) -> int:
    """Free memory on ``device`` (``QTRAIN_MEMORY_LIMIT_GB`` overrides, for tests and shared hosts)."""
    limit = os.environ.get("QTRAIN_MEMORY_LIMIT_GB")
    if limit:
        return int(float(limit) * 2**30)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - non-Linux
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))  # pragma: no cover


def check_state_fits(n_qubits: int, batch: int, dtype: torch.dtype, device: torch.device, copies: int = 4) -> None:
    """Raise ``ValueError`` when ``copies`` statevectors of this size would not fit in memory."""
    itemsize = torch.empty(0, dtype=dtype).element_size()
    need = copies * batch * (2**n_qubits) * itemsize
    have = available_bytes(device)
    if need > have:
        gib = 2**30
        raise ValueError(
            f"a {n_qubits}-qubit state in {str(dtype).replace('torch.', '')} with batch {batch} needs about "
            f"{need / gib:.1f} GiB ({copies} statevectors of {batch * 2**n_qubits * itemsize / gib:.2f} GiB) but "
            f"only {have / gib:.1f} GiB is available on {device}; use fewer qubits or a smaller batch"
            + (", or a real dtype (float32) for real circuits" if dtype.is_complex else "")
        )
