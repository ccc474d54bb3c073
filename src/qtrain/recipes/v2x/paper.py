"""The V2X paper's reported numbers (arXiv 003): what the presets' headers and the reports quote.

The paper is a position paper. Its only experiment (Sec. VII, Fig. 5) trains a hybrid model with
a 4-qubit variational feature layer (DeepQuantum 4.3, PyTorch) on scikit-learn Digits split 6:2:2
for 500 epochs, varying batch size, learning rate and optimizer one at a time. The numbers below
are read from its text; the batch sizes, the other learning rates and the other optimizers of the
figures are not given in numbers, so this package chooses them (marked ``ours``).

Example:
    >>> PAPER_BEST["test_acc"], PAPER_BEST["batch_size"], PAPER_BEST["optimizer"]
    (0.85, 64, 'adam')
"""
from __future__ import annotations

from typing import Any, Mapping

from qtrain.report.protocol import PaperProtocol

__all__ = ["PAPER", "PAPER_BEST", "PAPER_LR_STUDY", "STUDY_GRID", "EPOCHS", "SPLIT", "paper_protocol"]

PAPER = "Quantum Machine Learning-based 6G Network: Enabling Adaptive Communication and Model Aggregation"

EPOCHS = 500
"""Training cycles of every run of the hyperparameter study."""

SPLIT = (0.6, 0.2, 0.2)
"""Digits train / validation / test fractions."""

PAPER_BEST: dict[str, Any] = {"batch_size": 64, "lr": 0.01, "optimizer": "adam", "test_acc": 0.85,
                              "source": "Sec. VII: 'Adam ... stable accuracy of 0.85'; best: bs 64, lr 0.01, Adam"}
"""The best configuration and its accuracy (Fig. 5(b))."""

PAPER_LR_STUDY: dict[str, Any] = {"lr": 0.01, "test_acc": 0.80,
                                  "source": "Sec. VII: 'a learning rate of 0.01 results in ... a stable "
                                            "accuracy of 0.8'"}
"""Fig. 5(a): the learning-rate study's reported value (optimizer not stated)."""

STUDY_GRID: dict[str, tuple[Any, ...]] = {
    "batch_size": (16, 32, 64, 128),  # ours: the paper names only the best, 64
    "lr": (0.001, 0.01, 0.1),  # ours around the paper's best 0.01
    "optimizer": ("adam", "sgd", "rmsprop", "adagrad"),  # ours; the paper names only Adam
}
"""One-at-a-time study around the best configuration (each preset changes one value)."""

PAPER_PROTOCOL = PaperProtocol(
    "V2X paper, Sec. VII, Fig. 5(b): scikit-learn Digits split 6:2:2, 4 qubits, 500 epochs, batch 64, Adam lr 0.01",
    {"epochs": EPOCHS, "batch_size": PAPER_BEST["batch_size"], "lr": PAPER_BEST["lr"],
     "optimizer": PAPER_BEST["optimizer"], "n_qubits": 4})
"""The protocol of the paper's one experiment (its best configuration)."""


def paper_protocol(recipe: str, config: Mapping[str, Any]) -> PaperProtocol | None:
    """The paper's protocol for a ``v2x_qcnn`` run; the other V2X recipes have no experiment in the paper.

    Example:
        >>> paper_protocol("v2x_qcnn", {}).settings["epochs"], paper_protocol("v2x_fusion", {})
        (500, None)
    """
    return PAPER_PROTOCOL if recipe == "v2x_qcnn" else None
