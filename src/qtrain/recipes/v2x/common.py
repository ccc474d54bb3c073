"""Pieces shared by the V2X recipes: optimizers by name, classification evaluation, table rows, export."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from qtrain.choices import ChoiceEnum, argument
from qtrain.qt import count_parameters
from qtrain.train import RunDir, ShuffledBatches, load_checkpoint, save_model_safetensors

__all__ = ["OptimizerName", "make_optimizer", "evaluate_classifier", "param_count", "mean_std", "save_export",
           "export_from_checkpoint"]


@argument("optimizer")
class OptimizerName(ChoiceEnum):
    """Optimizers of the paper's optimizer study (Fig. 5(b))."""

    ADAM = "adam"
    SGD = "sgd"
    RMSPROP = "rmsprop"
    ADAGRAD = "adagrad"


def make_optimizer(name: str, params: Iterable[nn.Parameter], lr: float,
                   momentum: float = 0.0) -> torch.optim.Optimizer:
    """``adam`` / ``sgd`` (with ``momentum``) / ``rmsprop`` / ``adagrad`` at learning rate ``lr``."""
    kind = OptimizerName.parse(name)
    if kind is OptimizerName.ADAM:
        return torch.optim.Adam(params, lr=lr)
    if kind is OptimizerName.SGD:
        return torch.optim.SGD(params, lr=lr, momentum=momentum)
    if kind is OptimizerName.RMSPROP:
        return torch.optim.RMSprop(params, lr=lr)
    return torch.optim.Adagrad(params, lr=lr)


@torch.no_grad()
def evaluate_classifier(model: Callable[[Tensor], Tensor], data: Any, prefix: str,
                        batch_size: int = 1000) -> dict[str, float]:
    """Mean cross-entropy and accuracy of ``model`` on a ``TensorDataset`` ``(x, y)`` (``{}`` if empty)."""
    if data is None or len(data) == 0:
        return {}
    was = getattr(model, "training", False)
    if isinstance(model, nn.Module):
        model.eval()
    loss, correct = 0.0, 0
    for x, y in ShuffledBatches(data, batch_size, shuffle=False).epoch():
        logits = model(x)
        loss += float(F.cross_entropy(logits, y, reduction="sum"))
        correct += int((logits.argmax(-1) == y).sum())
    if isinstance(model, nn.Module):
        model.train(was)
    return {f"{prefix}_loss": loss / len(data), f"{prefix}_acc": correct / len(data)}


def param_count(model: nn.Module) -> dict[str, Any]:
    """:func:`qtrain.qt.count_parameters` as a dict, plus ``quantum``: circuit weights of hybrid layers."""
    out = count_parameters(model).to_dict()
    out["quantum"] = sum(int(getattr(m, "n_quantum_params", 0)) for m in model.modules()
                         if hasattr(m, "n_quantum_params"))
    return out


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value)."""
    n = len(values)
    m = sum(values) / n
    return m, (sum((v - m) ** 2 for v in values) / (n - 1)) ** 0.5 if n > 1 else 0.0


def save_export(model: nn.Module, run_dir: RunDir) -> Path:
    """Write ``model.safetensors`` (generated weights for Quantum-Train models) into the run folder."""
    return save_model_safetensors(model, run_dir.path)


def export_from_checkpoint(model: nn.Module, run_dir: RunDir, tag: str) -> Path:
    """Load ``checkpoints/<tag>/last.pt`` into ``model`` and write ``model.safetensors``."""
    model.load_state_dict(load_checkpoint(run_dir.checkpoint_dir(tag) / "last.pt")["model"])
    return save_export(model, run_dir)
