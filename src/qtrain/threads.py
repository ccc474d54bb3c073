"""The CPU thread policy: how many torch threads a qtrain workload should use, and setting it.

Quantum-Train circuits and the papers' small CNNs are made of many tiny kernels (a 13-qubit
statevector is 32 KiB). torch's default, one intra-op thread per core, wakes every core for each
of them; when other processes keep those cores busy, each wake-up waits for a time slice, and a
step can take 10-30x longer than on one thread (``benchmarks/speed/bench_threads.py`` measures it:
``benchmarks/results/threads.md``). The recipes therefore take ``num_threads`` from their presets,
and library users choose with :func:`set_threads`:

* ``set_threads(1)``: one thread; the right choice for circuits up to ~16 qubits and small models,
  and for several processes side by side (``qtrain sweep --jobs N`` gives each worker one thread).
* ``set_threads("auto")``: the idle cores, ``cpus - round(1-minute load average)``, at least 1:
  all cores on an idle machine, 1 on a busy one. Large circuits (19+ qubits) and CIFAR-size models
  gain from more threads when the cores are free.
* nothing: torch's default (every core), whatever the load.

``import qtrain`` never changes the thread count: it is process-wide state that belongs to the
application.

Example:
    >>> import torch
    >>> before = torch.get_num_threads()
    >>> set_threads(1)
    1
    >>> torch.get_num_threads()
    1
    >>> 1 <= recommended_threads() <= available_cpus()
    True
    >>> set_threads(before) == before
    True
"""
from __future__ import annotations

import contextlib
import os
from typing import Iterator

__all__ = ["available_cpus", "load_average", "recommended_threads", "set_threads", "thread_info", "use_threads"]


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one, else ``os.cpu_count()``)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def load_average() -> float | None:
    """The 1-minute load average (runnable processes), ``None`` where the OS does not report it."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def recommended_threads(cpus: int | None = None, load: float | None = None) -> int:
    """The ``"auto"`` policy: idle cores = ``cpus - round(load)``, clipped to ``[1, cpus]``.

    Args:
        cpus: usable CPUs (default :func:`available_cpus`).
        load: 1-minute load average (default :func:`load_average`; unknown: all cpus).

    Example:
        >>> recommended_threads(cpus=16, load=0.2), recommended_threads(cpus=16, load=5.6)
        (16, 10)
        >>> recommended_threads(cpus=2, load=9.5)
        1
    """
    cpus = available_cpus() if cpus is None else cpus
    load = load_average() if load is None else load
    if load is None:
        return cpus
    return max(1, min(cpus, cpus - round(load)))


def _resolve(n: int | str) -> int:
    if n == "auto":
        return recommended_threads()
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"threads={n!r} must be a positive integer or 'auto' (the idle cores); "
                         "e.g. qtrain.set_threads(1) for small circuits on a shared machine")
    return n


def set_threads(n: int | str = "auto") -> int:
    """Set torch's intra-op CPU threads; returns the number set.

    Args:
        n: a positive integer, or ``"auto"`` (:func:`recommended_threads`: the idle cores).

    Raises:
        ValueError: ``n`` is not a positive integer or ``"auto"``.

    Example:
        >>> set_threads(0)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: threads=0 must be a positive integer or 'auto' (the idle cores); ...
    """
    import torch

    count = _resolve(n)
    torch.set_num_threads(count)
    return count


@contextlib.contextmanager
def use_threads(n: int | str) -> Iterator[int]:
    """Run a block with ``n`` torch threads (``"auto"`` allowed), restoring the previous count after it.

    Example:
        >>> import torch
        >>> before = torch.get_num_threads()
        >>> with use_threads(1) as count:
        ...     torch.get_num_threads() == count == 1
        True
        >>> torch.get_num_threads() == before
        True
    """
    import torch

    before = torch.get_num_threads()
    try:
        yield set_threads(n)
    finally:
        torch.set_num_threads(before)


def thread_info() -> dict[str, int | float | str | None]:
    """What a run folder records: torch's intra-/inter-op threads, usable CPUs, load, ``OMP_NUM_THREADS``."""
    import torch

    return {"torch_threads": torch.get_num_threads(), "torch_interop_threads": torch.get_num_interop_threads(),
            "cpus": available_cpus(), "load_average_1m": load_average(),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")}
