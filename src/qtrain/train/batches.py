"""Seeded, resumable mini-batches over an in-memory dataset.

This is the recipes' data loader: its ``torch.Generator`` draws one permutation per epoch, and
its state at the start of an epoch is all a checkpoint needs to replay that epoch's order and
skip the steps already done (no data is fetched for skipped steps).

Data-parallel: after :meth:`ShuffledBatches.shard`, every rank draws the same global order and
fetches only its own contiguous part of each global batch (like ``DistributedSampler``, but split
per batch, so that the ranks' parts of one step are exactly one process's batch).
"""
from __future__ import annotations

from typing import Iterator

import torch
from torch import Tensor
from torch.utils.data import Dataset, TensorDataset, default_collate

__all__ = ["ShuffledBatches"]


class ShuffledBatches:
    """Mini-batches of ``dataset`` in a fresh seeded random order every epoch.

    Args:
        dataset: a ``TensorDataset`` (indexed directly, fast) or any map-style dataset
            (items collated with ``default_collate``).
        batch_size: samples per batch; the last batch may be smaller unless ``drop_last``.
        seed: seed of the loader's own generator (independent of torch's global RNG).
        shuffle: ``False`` keeps the dataset order (evaluation).
        drop_last: drop the last incomplete batch.

    Example:
        >>> ds = TensorDataset(torch.arange(10))
        >>> loader = ShuffledBatches(ds, batch_size=4, seed=0)
        >>> len(loader), [len(b[0]) for b in loader.epoch()]
        (3, [4, 4, 2])
    """

    def __init__(self, dataset: Dataset, batch_size: int, seed: int = 0, shuffle: bool = True,
                 drop_last: bool = False) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r} must be a positive integer")
        self.dataset, self.batch_size, self.shuffle, self.drop_last = dataset, batch_size, shuffle, drop_last
        self.n = len(dataset)  # type: ignore[arg-type]
        if self.n == 0:
            raise ValueError("dataset is empty; a loader needs at least one sample")
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch_start_state: Tensor = self.generator.get_state()
        self.rank, self.world_size = 0, 1

    def shard(self, rank: int, world_size: int) -> None:
        """Yield only part ``rank`` of ``world_size`` of every batch (contiguous, sizes differ by at most 1).

        Example:
            >>> loader = ShuffledBatches(TensorDataset(torch.arange(5)), 5, shuffle=False)
            >>> loader.shard(1, 2)
            >>> [b[0].tolist() for b in loader.epoch()], loader.global_batch_size(0)
            ([[3, 4]], 5)
        """
        if not 0 <= rank < world_size:
            raise ValueError(f"rank={rank!r} must be in [0, world_size={world_size!r})")
        self.rank, self.world_size = rank, world_size

    def global_batch_size(self, step: int) -> int:
        """Samples in batch ``step`` of an epoch, over all ranks."""
        return min(self.batch_size, self.n - step * self.batch_size)

    @property
    def smallest_batch(self) -> int:
        """The fewest samples any global batch of an epoch has (the last one, unless ``drop_last``)."""
        return self.global_batch_size(len(self) - 1)

    def __len__(self) -> int:
        """Batches per epoch."""
        return self.n // self.batch_size if self.drop_last else -(-self.n // self.batch_size)

    def epoch(self, start_step: int = 0, generator_state: Tensor | None = None) -> Iterator[tuple[Tensor, ...]]:
        """The batches of one epoch, from ``start_step`` on.

        Args:
            start_step: batches of this epoch already done (skipped without fetching data).
            generator_state: the generator state at the start of the epoch being resumed.
        """
        if generator_state is not None:
            self.generator.set_state(generator_state)
        self.epoch_start_state = self.generator.get_state()
        order = torch.randperm(self.n, generator=self.generator) if self.shuffle else torch.arange(self.n)
        for step in range(start_step, len(self)):
            idx = order[step * self.batch_size:(step + 1) * self.batch_size]
            yield self._fetch(idx.tensor_split(self.world_size)[self.rank] if self.world_size > 1 else idx)

    def _fetch(self, idx: Tensor) -> tuple[Tensor, ...]:
        if isinstance(self.dataset, TensorDataset):
            return tuple(t[idx] for t in self.dataset.tensors)
        return tuple(default_collate([self.dataset[int(i)] for i in idx]))
