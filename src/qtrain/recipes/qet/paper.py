"""The QET paper's rows: Table 2, the one source every ``qet_amc`` preset header, report and script quotes.

An et al., "Automatic Modulation Classification using Quantum-Empowered Training": Table 2
(MC-Net trained classically vs QET-5 ... QET-9 on RadioML 2016.10A; RTX 4090, TorchQuantum).
Fig. 5 (the Quantum-Train MLP mapping, 17 qubits) has no numbers, only a validation-loss curve.
The preset headers (``presets/qet_amc/*.yaml``) repeat these numbers; a test checks they agree.

Example:
    >>> PAPER_TABLE_2["QET-6"].acc, round(paper_te_ratio("QET-6"), 2)
    (59.4, 7.4)
"""
from __future__ import annotations

from typing import Any, Mapping, NamedTuple

from qtrain.report.protocol import PaperProtocol

__all__ = ["PaperRow", "PAPER_TABLE_2", "PAPER_PRESETS", "paper_row", "paper_te_ratio", "paper_protocol"]


class PaperRow(NamedTuple):
    """One row of Table 2: trainable parameters, dC % (eq. 14), accuracy %, acc. loss % (eq. 13), T_e s (eq. 15)."""

    row: str
    trainable: int
    delta_c_pct: float | None
    acc: float
    acc_loss: float | None
    t_e_s: float


PAPER_TABLE_2: dict[str, PaperRow] = {r.row: r for r in (
    PaperRow("MC-Net", 121_611, None, 58.8, None, 17.1),
    PaperRow("QET-5", 67_823, 44.23, 59.1, -0.3, 102.3),
    PaperRow("QET-6", 35_440, 70.85, 59.4, -0.6, 126.5),
    PaperRow("QET-7", 20_185, 83.40, 57.7, 1.1, 146.3),
    PaperRow("QET-8", 12_501, 89.72, 56.6, 2.2, 156.8),
    PaperRow("QET-9", 10_526, 91.34, 55.7, 3.1, 145.2),
)}
"""Row name (``MC-Net``, ``QET-Q``) -> :class:`PaperRow`."""

PAPER_PRESETS = {"MC-Net": "mcnet_classical", "QET-5": "qet5", "QET-6": "qet6", "QET-7": "qet7", "QET-8": "qet8",
                 "QET-9": "qet9", "QT-MLP-17": "qet_mlp17"}
"""Table 2 rows (and Fig. 5's MLP-mapping model) -> the preset that reproduces each."""


def paper_row(name: str) -> PaperRow | None:
    """The Table 2 row of model ``name`` (``"MC-Net"``, ``"QET-6"``, ...), ``None`` for others (``QT-MLP-17``)."""
    return PAPER_TABLE_2.get(name)


def paper_te_ratio(name: str) -> float | None:
    """The paper's epoch time of ``name`` over MC-Net's (``None`` when the row is not in Table 2)."""
    row = paper_row(name)
    return None if row is None else row.t_e_s / PAPER_TABLE_2["MC-Net"].t_e_s


PAPER_PROTOCOL = PaperProtocol(
    "An et al., Table 2: RadioML 2016.10A (all 1,000 windows per key, raw), up to 500 epochs with early stopping "
    "after 30, batch 64, Adam lr 1e-3",
    {"data": frozenset({"auto", "file"}), "n_per_key": None, "input_norm": "none", "epochs": 500, "patience": 30,
     "batch_size": 64, "lr": 1e-3, "max_steps": None})
"""The training protocol of every Table 2 row."""


def paper_protocol(recipe: str, config: Mapping[str, Any]) -> PaperProtocol | None:
    """Table 2's protocol for a ``qet_amc`` run (``qtrain report`` flags differences)."""
    return PAPER_PROTOCOL if recipe == "qet_amc" else None
