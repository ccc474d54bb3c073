"""Evaluate a classifier on an in-memory dataset: mean cross-entropy and accuracy."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from qtrain.train.batches import ShuffledBatches

__all__ = ["evaluate"]


@torch.no_grad()
def evaluate(model: nn.Module, data: Any, batch_size: int, prefix: str) -> dict[str, float]:
    """Mean cross-entropy and accuracy on a ``TensorDataset`` (``{}`` if it is empty).

    The model runs in ``eval()`` mode (restored to ``train()`` after); a ``QuantumTrain`` in ``eval()``
    mode under ``no_grad`` generates its weights once and reuses them for every batch.

    Returns:
        ``{f"{prefix}_loss": mean loss, f"{prefix}_acc": accuracy in [0, 1]}``.

    Example:
        >>> from torch.utils.data import TensorDataset
        >>> data = TensorDataset(torch.zeros(4, 2), torch.tensor([0, 1, 1, 1]))
        >>> m = nn.Linear(2, 2)
        >>> with torch.no_grad():
        ...     _ = m.bias.copy_(torch.tensor([0.0, 1.0]))
        >>> evaluate(m, data, 3, "test")["test_acc"]
        0.75
    """
    if len(data) == 0:
        return {}
    loss, correct = 0.0, 0
    model.eval()
    for x, y in ShuffledBatches(data, batch_size, shuffle=False).epoch():
        logits = model(x)
        loss += float(F.cross_entropy(logits, y, reduction="sum"))
        correct += int((logits.argmax(1) == y).sum())
    model.train()
    return {f"{prefix}_loss": loss / len(data), f"{prefix}_acc": correct / len(data)}
