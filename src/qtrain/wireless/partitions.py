"""Set partitions of users into at most ``tau_p`` pilot groups, as restricted-growth strings.

With orthogonal pilots and equal powers the rates depend only on *which* users share a pilot,
not on the pilot labels, so exhaustive search need only visit the set partitions of the ``K``
users into ``<= tau_p`` blocks: ``sum_{j <= tau_p} S(K, j)`` candidates (Stirling numbers of the
second kind) instead of ``tau_p^K`` labelings. A restricted-growth string ``a`` has ``a_0 = 0``
and ``a_i <= 1 + max(a_0..a_{i-1})``; it is itself a valid pilot labeling.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Iterator

import numpy as np
import torch
from torch import Tensor

__all__ = ["stirling2", "n_partitions", "restricted_growth_strings", "iter_partition_chunks"]

_MAX_ENUMERATE = 50_000_000


def stirling2(n: int, k: int) -> int:
    """Stirling number of the second kind ``S(n, k)`` (exact integer).

    Example:
        >>> stirling2(6, 3), stirling2(15, 3)
        (90, 2375101)
    """
    if not isinstance(n, int) or not isinstance(k, int) or n < 0 or k < 0:
        raise ValueError(f"stirling2(n={n}, k={k}) needs n >= 0 and k >= 0")
    row = [1] + [0] * k  # S(0, j)
    for i in range(1, n + 1):
        new = [0] * (k + 1)
        for j in range(1, min(i, k) + 1):
            new[j] = j * row[j] + row[j - 1]
        row = new
    return row[k]


def n_partitions(n_users: int, tau_p: int) -> int:
    """Number of partitions of ``n_users`` users into at most ``tau_p`` groups: ``sum_j S(K, j)``.

    Example:
        >>> n_partitions(6, 3), n_partitions(8, 4), n_partitions(10, 4), n_partitions(12, 3)
        (122, 2795, 43947, 88574)
    """
    _check(n_users, tau_p)
    return sum(stirling2(n_users, j) for j in range(1, min(tau_p, n_users) + 1))


def _check(n_users: int, tau_p: int) -> None:
    if not isinstance(n_users, int) or isinstance(n_users, bool) or n_users < 1:
        raise ValueError(f"n_users={n_users!r} must be an integer >= 1")
    if not isinstance(tau_p, int) or isinstance(tau_p, bool) or tau_p < 1:
        raise ValueError(f"tau_p={tau_p!r} must be an integer >= 1")


@lru_cache(maxsize=8)
def _rgs_numpy(n_users: int, tau_p: int) -> np.ndarray:
    strings = np.zeros((1, 1), dtype=np.int8)
    top = np.zeros(1, dtype=np.int8)  # max label so far, per string
    for _ in range(1, n_users):
        parts, tops = [], []
        for v in range(tau_p):
            keep = v <= top + 1
            if not keep.any():
                break
            parts.append(np.concatenate([strings[keep], np.full((int(keep.sum()), 1), v, np.int8)], axis=1))
            tops.append(np.maximum(top[keep], v))
        strings, top = np.concatenate(parts), np.concatenate(tops)
    order = np.lexsort(strings.T[::-1])  # lexicographic order, first user most significant
    out = strings[order]
    out.setflags(write=False)
    return out


def restricted_growth_strings(n_users: int, tau_p: int) -> Tensor:
    """All restricted-growth strings of length ``K`` with labels ``< tau_p``, lexicographic.

    Args:
        n_users: ``K``.
        tau_p: number of pilots.

    Returns:
        ``(n_partitions(K, tau_p), K)`` int64 tensor; each row is a pilot labeling.

    Example:
        >>> restricted_growth_strings(3, 2).tolist()
        [[0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 1, 1]]
    """
    return torch.from_numpy(_rgs_checked(n_users, tau_p).astype(np.int64))


def _rgs_checked(n_users: int, tau_p: int) -> np.ndarray:
    count = n_partitions(n_users, tau_p)
    if count > _MAX_ENUMERATE:
        raise ValueError(f"K={n_users}, tau_p={tau_p} has {count:,} partitions, more than the "
                         f"{_MAX_ENUMERATE:,} that exhaustive search enumerates; use a heuristic or local search")
    return _rgs_numpy(n_users, tau_p)


def iter_partition_chunks(n_users: int, tau_p: int, chunk: int) -> Iterator[Tensor]:
    """Yield the restricted-growth strings in chunks of at most ``chunk`` rows, ``(C, K)`` int64."""
    if not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk={chunk!r} must be a positive integer")
    everything = _rgs_checked(n_users, tau_p)  # int8, converted chunk by chunk to bound memory
    for start in range(0, everything.shape[0], chunk):
        yield torch.from_numpy(everything[start:start + chunk].astype(np.int64))
