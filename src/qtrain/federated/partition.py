"""Non-IID client shards: per-class Dirichlet proportions (Hsu et al. 2019).

For every class ``c`` a vector ``p_c ~ Dir(alpha * 1_N)`` splits that class's samples over the
``N`` clients; small ``alpha`` gives clients few classes, large ``alpha`` tends to IID. Draws are
repeated (up to 100 times, then an error) until every client holds at least ``min_size`` samples.

Example:
    >>> import torch
    >>> y = torch.arange(10).repeat(30)
    >>> shards = dirichlet_split(y, n_clients=3, alpha=0.5, seed=0)
    >>> sorted(int(i) for s in shards for i in s) == list(range(300))
    True
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

__all__ = ["dirichlet_split"]


def dirichlet_split(labels: Tensor, n_clients: int, alpha: float, seed: int = 0, min_size: int = 1) -> list[Tensor]:
    """Disjoint index shards ``[(n_i,) int64]`` covering every sample, class proportions ~ ``Dir(alpha)``.

    Raises:
        ValueError: bad arguments, or no draw in 100 gives every client ``min_size`` samples.
    """
    if isinstance(n_clients, bool) or not isinstance(n_clients, int) or n_clients < 1:
        raise ValueError(f"n_clients={n_clients!r} must be a positive integer")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not (alpha > 0 and math.isfinite(alpha)):
        raise ValueError(f"alpha={alpha!r} must be a finite number > 0 (Dirichlet concentration; 0.5 is non-IID)")
    y = labels.cpu().numpy()
    if n_clients * min_size > len(y):
        raise ValueError(f"n_clients={n_clients} x min_size={min_size} exceeds the {len(y)} samples")
    rng = np.random.default_rng(seed)
    for _ in range(100):
        shards: list[list[int]] = [[] for _ in range(n_clients)]
        for c in np.unique(y):
            idx = rng.permutation(np.flatnonzero(y == c))
            cuts = (np.cumsum(rng.dirichlet(np.full(n_clients, float(alpha)))) * len(idx)).astype(int)[:-1]
            for shard, part in zip(shards, np.split(idx, cuts)):
                shard.extend(part.tolist())
        if min(len(s) for s in shards) >= min_size:
            return [torch.tensor(sorted(s), dtype=torch.int64) for s in shards]
    raise ValueError(f"no Dirichlet(alpha={alpha}) draw gave each of {n_clients} clients >= {min_size} samples; "
                     "raise alpha or lower n_clients / min_size")
