"""The DiffQAS-QT paper's numbers: the one source the presets, recipes and result scripts quote.

"Differentiable Quantum Architecture Search in Quantum-Enhanced Neural Network Parameter
Generation" (arXiv 2505.09653): Table I (the 12 configurations, see
:data:`qtrain.qt.diffqas_space.CANDIDATES`), Table II (test MSE of the QT-LSTM), the parameter
counts of Sec. VI and the hyper-parameters of each task. Figs. 5-7 (classification) and 13-14
(RL) are curves without numbers; the text states only that DiffQAS-QT exceeds 98 % train and
test accuracy on Fashion-MNIST 1 vs 5.

Example:
    >>> TABLE_II["DiffQAS"]["bessel"], TABLE_II["config 8"]["narma10"]
    (4e-05, 8.1e-05)
    >>> PARAMS["image"]
    PaperCounts(generated=108866, trainable=286, n_qubits=17, depth=15)
"""
from __future__ import annotations

from typing import Any, Mapping, NamedTuple

from qtrain.report.protocol import PaperProtocol

__all__ = ["PaperCounts", "PARAMS", "SERIES_COLUMNS", "TABLE_II", "best_fixed", "IMAGE_TASKS", "RL",
           "HYPER", "paper_protocol"]


class PaperCounts(NamedTuple):
    """Classical parameters generated, DiffQAS-QT trainable parameters, qubits and depth of one task."""

    generated: int
    trainable: int
    n_qubits: int
    depth: int


PARAMS: dict[str, PaperCounts] = {
    "image": PaperCounts(108_866, 286, 17, 15),  # MLP 784-128-64-2
    "series": PaperCounts(1_781, 135, 11, 10),  # LSTM hidden 20, one bias per gate, + Linear(20, 1)
    "rl_policy": PaperCounts(6_023, 157, 13, 10),  # 147-32-32-7
    "rl_value": PaperCounts(5_825, 157, 13, 10),  # 147-32-32-1
}

SERIES_COLUMNS = ("bessel", "damped_shm", "delayed_qc", "narma5", "narma10")
"""Table II's columns: Bessel J2, damped SHM, delayed quantum control, NARMA-5, NARMA-10."""

_TABLE_II_ROWS = {
    "DiffQAS": (0.000040, 0.000036, 0.001710, 0.000050, 0.000117),
    "config 1": (0.000515, 0.000155, 0.000715, 0.000038, 0.000095),
    "config 2": (0.000525, 0.000695, 0.001190, 0.000068, 0.000103),
    "config 3": (0.000515, 0.000155, 0.000676, 0.000038, 0.000095),
    "config 4": (0.000515, 0.000155, 0.002011, 0.000038, 0.000095),
    "config 5": (0.002902, 0.000820, 0.001111, 0.000024, 0.000098),
    "config 6": (0.000515, 0.000155, 0.002638, 0.000038, 0.000095),
    "config 7": (0.000601, 0.000040, 0.001679, 0.000052, 0.000120),
    "config 8": (0.000141, 0.008873, 0.001723, 0.000091, 0.000081),
    "config 9": (0.001391, 0.000154, 0.000956, 0.000045, 0.000125),
    "config 10": (0.000216, 0.000157, 0.001839, 0.000040, 0.000121),
    "config 11": (0.007428, 0.032072, 0.000211, 0.000054, 0.000140),
    "config 12": (0.001391, 0.000154, 0.000956, 0.000045, 0.000125),
}
TABLE_II: dict[str, dict[str, float]] = {row: dict(zip(SERIES_COLUMNS, v)) for row, v in _TABLE_II_ROWS.items()}
"""Row (``"DiffQAS"``, ``"config 1"`` ... ``"config 12"``) -> column -> test MSE."""


def best_fixed(column: str) -> tuple[str, float]:
    """The fixed configuration with the lowest Table II MSE on ``column`` (first in order on ties)."""
    if column not in SERIES_COLUMNS:
        raise ValueError(f"column={column!r} is unknown; use one of {list(SERIES_COLUMNS)}")
    rows = [(r, v[column]) for r, v in TABLE_II.items() if r != "DiffQAS"]
    return min(rows, key=lambda rv: rv[1])


IMAGE_TASKS: dict[str, tuple[str, tuple[int, int], str]] = {
    "mnist_1_5": ("mnist5k", (1, 5), "Fig. 5"),
    "fashion_1_5": ("fashion", (1, 5), "Fig. 6"),
    "fashion_5_7": ("fashion", (5, 7), "Fig. 7"),
}
"""Image task -> (data source, class pair, figure). Fig. 6 text: DiffQAS-QT train and test accuracy > 98 %."""

RL = {"episodes": 50_000, "window": 1_000, "workers": 16, "envs": ("MiniGrid-Empty-5x5-v0", "MiniGrid-Empty-6x6-v0"),
      "figures": ("Fig. 13", "Fig. 14")}
"""The RL protocol: episodes per curve, moving-average window, A3C workers, environments."""

HYPER = {
    "image": {"optimizer": "Adam", "lr": 1e-3, "batch_size": 100, "depth": 15},
    "series": {"optimizer": "RMSprop", "lr": 0.01, "alpha": 0.99, "eps": 1e-8, "batch_size": 10, "depth": 10,
               "window": 4},
    "rl": {"optimizer": "Adam", "lr": 1e-4, "betas": (0.92, 0.999), "gamma": 0.9, "n_steps": 5, "depth": 10},
}
"""Hyper-parameters stated in Sec. VI for each task."""

_SEARCH = {"weighting": "raw", "shared_angles": True}  # Sec. III: raw structural weights, one shared angle array
_PROTOCOLS = {
    "diffqas_image": PaperProtocol(
        "DiffQAS-QT paper, Figs. 5-7: Adam lr 1e-3, batch 100, depth 15 (MNIST 1 vs 5 on full MNIST; epochs not "
        "stated)",
        {**{k: HYPER["image"][k] for k in ("lr", "batch_size", "depth")}, "max_steps": None, "center_rows": False,
         **_SEARCH}),
    "diffqas_series": PaperProtocol(
        "DiffQAS-QT paper, Table II: RMSprop lr 0.01 (alpha 0.99, eps 1e-8), batch 10, window 4, LSTM hidden 20, "
        "depth 10, 100 epochs", {"epochs": 100, "lr": HYPER["series"]["lr"], "rms_alpha": HYPER["series"]["alpha"],
                                 "rms_eps": HYPER["series"]["eps"], "batch_size": HYPER["series"]["batch_size"],
                                 "hidden": 20, "depth": HYPER["series"]["depth"], "max_steps": None, **_SEARCH}),
    "diffqas_rl": PaperProtocol(
        "DiffQAS-QT paper, Figs. 13-14: A3C, 16 workers, 50,000 episodes (moving average over 1,000), Adam lr 1e-4 "
        "(0.92, 0.999), gamma 0.9, update every 5 steps, hidden 32, depth 10",
        {"episodes": RL["episodes"], "workers": RL["workers"], "window": RL["window"], "hidden": 32,
         **{k: HYPER["rl"][k] for k in ("lr", "betas", "gamma", "n_steps", "depth")}, **_SEARCH}),
}


def paper_protocol(recipe: str, config: Mapping[str, Any]) -> PaperProtocol | None:
    """The paper's stated settings for a DiffQAS run (``qtrain report`` flags every field a run differs in).

    Example:
        >>> paper_protocol("diffqas_rl", {}).settings["episodes"]
        50000
    """
    return _PROTOCOLS.get(recipe)
