"""Seeded, resumable mini-batches over an in-memory dataset.

This is the recipes' data loader: its ``torch.Generator`` draws one permutation per epoch, and
its state at the start of an epoch is all a checkpoint needs to replay that epoch's order and
skip the steps already done (no data is fetched for skipped steps).
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
            yield self._fetch(order[step * self.batch_size:(step + 1) * self.batch_size])

    def _fetch(self, idx: Tensor) -> tuple[Tensor, ...]:
        if isinstance(self.dataset, TensorDataset):
            return tuple(t[idx] for t in self.dataset.tensors)
        return tuple(default_collate([self.dataset[int(i)] for i in idx]))
