"""The Quantum-Train paper's rows: the one table every ``qt_image`` preset header and report quotes.

Liu et al., "Quantum-Train: Rethinking Hybrid Quantum-Classical Machine Learning in the Model
Compression Perspective": Table I (MNIST), Table II (FashionMNIST), Table III (CIFAR-10) and the
QCML parameter counts of Sec. III. The preset headers (``presets/qt_image/*.yaml``) repeat these
numbers for ``qtrain ls``; a test checks that every header agrees with this table. The recipe's
report hook (:mod:`qtrain.recipes.quantum_train.report`) prints them next to ours.

Example:
    >>> paper_row("fashion", "qt", 121)
    PaperRow(table='II', row='QT-121', test_acc=80.74, params=1822)
"""
from __future__ import annotations

from typing import Any, Mapping, NamedTuple

from qtrain.report.protocol import PaperProtocol

__all__ = ["PaperRow", "PAPER_TABLES", "QCML_PARAMS_PAPER", "TABLE_OF", "paper_row", "dataset_key", "paper_protocol"]


class PaperRow(NamedTuple):
    """One row of Tables I-III: table number, row name, test accuracy (%) and trainable parameters."""

    table: str
    row: str
    test_acc: float | None
    params: int


#: dataset key -> {"classical" | blocks: (test acc %, params)}
PAPER_TABLES: dict[str, dict[str | int, tuple[float, int]]] = {
    "mnist": {"classical": (98.45, 6690), 16: (81.08, 457), 31: (84.69, 652), 46: (87.78, 847), 61: (88.43, 1042),
              76: (90.05, 1237), 91: (92.41, 1432), 106: (93.81, 1627), 121: (93.05, 1822)},
    "fashion": {"classical": (88.14, 6690), 16: (65.69, 457), 31: (73.48, 652), 46: (76.05, 847), 61: (74.92, 1042),
                76: (77.31, 1237), 91: (77.51, 1432), 106: (80.20, 1627), 121: (80.74, 1822)},
    "cifar10": {"classical": (62.50, 285226), 19: (28.73, 17482), 95: (44.76, 18926), 171: (47.42, 20370),
                247: (56.45, 21814), 323: (60.69, 23258)},
}
TABLE_OF = {"mnist": "I", "fashion": "II", "cifar10": "III"}
#: QCML totals stated in Sec. III (its accuracies appear only as bars in Fig. 5(d-f)).
QCML_PARAMS_PAPER = {"mnist": 5002, "fashion": 5002, "cifar10": 146286}
_DATASET_KEYS = {"mnist5k": "mnist", "mnist": "mnist", "digits": "mnist", "fashion": "fashion",
                 "cifar10": "cifar10", "cifar10_synthetic": "cifar10"}


def dataset_key(dataset: str, data_dir: str | None = None) -> str:
    """``"mnist"``, ``"fashion"`` or ``"cifar10"`` for a ``qt_image`` dataset (an IDX folder by its path)."""
    if dataset == "idx":
        return "fashion" if data_dir and "fashion" in str(data_dir).lower() else "mnist"
    if dataset not in _DATASET_KEYS:
        raise ValueError(f"dataset={dataset!r} is unknown; use one of {sorted([*_DATASET_KEYS, 'idx'])}")
    return _DATASET_KEYS[dataset]


def paper_row(key: str, model: str, blocks: int | None = None, ansatz: str = "ry_cnot") -> PaperRow | None:
    """The paper's row for ``model`` (``"classical"``, ``"qt"``, ``"qcml"``) on dataset ``key``, or ``None``.

    QT rows exist only for the paper's circuit (``ansatz="ry_cnot"``) and its block counts; QCML has
    a parameter count but no accuracy in the text.
    """
    if key not in PAPER_TABLES:
        raise ValueError(f"key={key!r} is unknown; use one of {sorted(PAPER_TABLES)}")
    table = PAPER_TABLES[key]
    if model == "classical":
        return PaperRow(TABLE_OF[key], "Classical CNN", *table["classical"])
    if model == "qcml":
        return PaperRow(f"Fig. 5/{TABLE_OF[key]}", "QCML", None, QCML_PARAMS_PAPER[key])
    if model == "qt" and ansatz == "ry_cnot" and blocks in table:
        return PaperRow(TABLE_OF[key], f"QT-{blocks}", *table[blocks])
    return None


_PROTOCOLS = {
    "mnist": PaperProtocol("Liu et al., Table I: full MNIST (60,000 train / 10,000 test), 50 epochs, batch 128, "
                           "Adam lr 1e-4", {"dataset": frozenset({"mnist", "idx"}), "n_train": 60000,
                                            "n_test": 10000, "epochs": 50, "batch_size": 128, "lr": 1e-4,
                                            "max_steps": None}),
    "fashion": PaperProtocol("Liu et al., Table II: full FashionMNIST (60,000 / 10,000), 50 epochs, batch 128, "
                             "Adam lr 1e-4", {"dataset": frozenset({"fashion", "idx"}), "n_train": 60000,
                                              "n_test": 10000, "epochs": 50, "batch_size": 128, "lr": 1e-4,
                                              "max_steps": None}),
    "cifar10": PaperProtocol("Liu et al., Table III: CIFAR-10 (50,000 / 10,000), 1000 epochs, batch 1,000, "
                             "Adam lr 1e-4", {"dataset": "cifar10", "n_train": 50000, "n_test": 10000,
                                              "epochs": 1000, "batch_size": 1000, "lr": 1e-4, "max_steps": None}),
}


def paper_protocol(recipe: str, config: Mapping[str, Any]) -> PaperProtocol | None:
    """How the paper trained the row a ``qt_image`` run is compared with (``qtrain report`` flags differences).

    Example:
        >>> paper_protocol("qt_image", {"dataset": "mnist5k"}).settings["epochs"]
        50
    """
    if recipe != "qt_image" or "dataset" not in config:
        return None
    return _PROTOCOLS[dataset_key(str(config["dataset"]), config.get("data_dir"))]
