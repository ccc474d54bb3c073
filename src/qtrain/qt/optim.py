"""Optimizer parameter groups of a Quantum-Train model: the mapping network at its own learning rate.

The mapping turns the QNN's probabilities into all M weights at once, so a step of its few hundred
weights moves every generated weight; it tolerates a smaller learning rate than the QNN angles,
whose effect on each weight goes through a probability of about 2^-n.
"""
from __future__ import annotations

from typing import Any

from torch import nn

from qtrain.qt.generator import QuantumParameterGenerator

__all__ = ["param_groups"]


def param_groups(model: nn.Module, lr: float, mapping_lr_factor: float = 1.0) -> list[dict[str, Any]]:
    """Optimizer groups: every generator's mapping at ``lr * mapping_lr_factor``, everything else at ``lr``.

    A model without a generator (or ``mapping_lr_factor == 1``) gets one group of all its parameters,
    the layout of a plain ``torch.optim.Adam(model.parameters())`` (so its checkpoints stay compatible).

    Example:
        >>> import torch
        >>> from qtrain.qt import QuantumTrain
        >>> qt = QuantumTrain(nn.Linear(3, 2), blocks=2)
        >>> opt = torch.optim.Adam(param_groups(qt, 1e-2, 0.3))
        >>> [round(g["lr"], 4) for g in opt.param_groups], [len(g["params"]) for g in opt.param_groups]
        ([0.01, 0.003], [1, 8])
    """
    if not mapping_lr_factor > 0:
        raise ValueError(f"mapping_lr_factor={mapping_lr_factor!r} must be > 0 (1: the mapping at the QNN's rate)")
    gens = [m for m in model.modules() if isinstance(m, QuantumParameterGenerator)]
    mapping = [p for g in gens for p in g.mapping.parameters() if p.requires_grad]
    if not mapping or mapping_lr_factor == 1:
        return [{"params": list(model.parameters()), "lr": lr}]
    ids = {id(p) for p in mapping}
    rest = [p for p in model.parameters() if id(p) not in ids]
    return [{"params": rest, "lr": lr}, {"params": mapping, "lr": lr * mapping_lr_factor}]
