"""The QET Multimodel mapping network: one basis state -> ``n_B`` weights (QET paper, Table 1).

Paper: T. T. An et al., "Automatic Modulation Classification using Quantum-Empowered Training"
(QET), Sec. 2.2 and Table 1. Each row ``[bits(k), x_k]`` (``Q + 1`` variables) goes through

* an **inner network** applied to every input variable on its own (one shared scalar network):
  ``Linear(1, 16)`` -> ``Linear(16, 16) + BatchNorm + ReLU`` -> ``Linear(16, 1)``
  (32 + 304 + 17 parameters);
* an **outer network** (MLP over the ``Q + 1`` inner outputs):
  ``Linear(Q + 1, 32) + BatchNorm + ReLU`` -> ``Linear(32, 16)`` (32 Q + 128 and 528);
* **final layers** ``Linear(16, 16)`` -> ``Linear(16, n_B)`` (272 and 17 n_B),

giving a ``(n_G, n_B)`` matrix; flattened and centred (the generator's ``center=True``: the
mean of the whole vector is removed, as the paper says) it is the target's weight vector.
Activations sit only where Table 1 lists them. Total mapping size: ``1281 + 32 Q + 17 n_B``.

BatchNorm normalises over rows (all basis states, and for the inner network all variables
too), so rows are coupled: the mapping is never evaluated in chunks (``couples_rows``), and by
default BatchNorm always uses the statistics of the rows it sees (``track_running_stats=False``):
the generator's "batch" is the same deterministic set of basis states at every call, so weights
generated in ``eval()`` equal those trained in ``train()`` instead of depending on running averages
that lag behind the mapping's parameters.

Example:
    >>> m = MultimodelMapping().bind(7, 1901)         # QET-6: Q = 6 qubits, n_B = 1901
    >>> m.layer_counts() == multimodel_layer_counts(6, 1901)
    True
    >>> sum(m.layer_counts()), m(torch.zeros(64, 7)).shape
    (33790, torch.Size([64, 1901]))
"""
from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

__all__ = ["MultimodelMapping", "multimodel_layer_counts", "multimodel_size", "CENTER_MODES"]

CENTER_MODES = ("none", "group")


def multimodel_layer_counts(n_qubits: int, n_per_state: int, inner: int = 16, outer: tuple[int, int] = (32, 16),
                            final: int = 16) -> list[int]:
    """Parameters of each Table 1 layer (Linear + its BatchNorm): ``[32, 304, 17, 32Q+128, 528, 272, 17 n_B]``.

    Args:
        n_qubits: ``Q`` (the mapping reads ``Q + 1`` variables per row).
        n_per_state: ``n_B``, weights per basis state.
        inner, outer, final: hidden widths (Table 1: 16, (32, 16), 16).

    Example:
        >>> multimodel_layer_counts(6, 1901)
        [32, 304, 17, 320, 528, 272, 32317]
    """
    o1, o2 = outer
    return [2 * inner, inner * inner + inner + 2 * inner, inner + 1,
            (n_qubits + 1) * o1 + o1 + 2 * o1, o1 * o2 + o2, o2 * final + final, final * n_per_state + n_per_state]


def multimodel_size(n_qubits: int, n_per_state: int) -> int:
    """Trainable parameters of the Table 1 mapping: ``1281 + 32 Q + 17 n_B``.

    Example:
        >>> multimodel_size(6, 1901)
        33790
    """
    return sum(multimodel_layer_counts(n_qubits, n_per_state))


def _check_width(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer (Table 1 uses inner=16, "
                         "outer=(32, 16), final=16)")


class _BNReLU(nn.Module):
    """``Linear -> BatchNorm1d -> ReLU`` (the Table 1 rows marked "Linear + BatchNorm + ReLU")."""

    def __init__(self, n_in: int, n_out: int, track_running_stats: bool) -> None:
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)
        self.bn = nn.BatchNorm1d(n_out, track_running_stats=track_running_stats)

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.bn(self.linear(x)))


class MultimodelMapping(nn.Module):
    """QET Multimodel mapping ``(rows, Q + 1) -> (rows, n_B)`` (Table 1).

    Args:
        inner: hidden width of the per-variable inner network (16).
        outer: the outer network's widths (32, 16).
        final: hidden width of the final layers (16).
        center: ``"none"`` (paper: the generator's ``center=True`` removes the mean of the whole
            flattened vector) or ``"group"`` (qtrain option: also remove each basis state's own
            mean, so every group of ``n_B`` weights is zero-mean).
        track_running_stats: BatchNorm keeps running averages for ``eval()`` (PyTorch default);
            False (default) always normalises with the statistics of the rows given.
        in_features, out_features: leave None to let the generator bind ``Q + 1`` and ``n_B``.

    Shapes:
        ``(rows, in_features) -> (rows, out_features)``; rows >= 2 (BatchNorm needs a spread).

    Example:
        >>> from qtrain.qt import QuantumParameterGenerator
        >>> g = QuantumParameterGenerator(121611, ansatz="u3_cu3", blocks=50, n_per_state=1901,
        ...                               mapping=MultimodelMapping(), transform="raw",
        ...                               ansatz_kwargs={"ring": False}, calibrate=False)
        >>> g.n_qubits, sum(p.numel() for p in g.parameters())      # QET-6, Table 2
        (6, 35440)
    """

    couples_rows = True  # BatchNorm over rows: the generator must not evaluate it in chunks

    def __init__(self, inner: int = 16, outer: tuple[int, int] = (32, 16), final: int = 16,
                 center: Literal["none", "group"] = "none", track_running_stats: bool = False,
                 in_features: int | None = None, out_features: int | None = None) -> None:
        super().__init__()
        outer = tuple(outer)  # type: ignore[assignment]
        if len(outer) != 2:
            raise ValueError(f"outer={outer!r} must be two widths (Table 1: (32, 16))")
        for name, v in (("inner", inner), ("outer[0]", outer[0]), ("outer[1]", outer[1]), ("final", final)):
            _check_width(name, v)
        if center not in CENTER_MODES:
            raise ValueError(f"center={center!r} is unknown; use one of {list(CENTER_MODES)}")
        self.inner_width, self.outer_widths, self.final_width = inner, outer, final
        self.center, self.track_running_stats = center, track_running_stats
        self.in_features, self.out_features = in_features, out_features
        self.inner: nn.Sequential | None = None
        self.outer: nn.Sequential | None = None
        self.final: nn.Sequential | None = None
        if in_features is not None and out_features is not None:
            self.bind(in_features, out_features)

    @property
    def bound(self) -> bool:
        return self.inner is not None

    def bind(self, in_features: int, out_features: int) -> MultimodelMapping:
        """Build the layers for ``Q + 1 -> n_B`` in place (checks them when already bound)."""
        for name, want, source in (("in_features", in_features, "n_qubits + 1"),
                                   ("out_features", out_features, "n_per_state")):
            have = getattr(self, name)
            if have is not None and have != want:
                raise ValueError(f"MultimodelMapping {name}={have} but the generator needs {name}={want} ({source}); "
                                 f"leave {name}=None so the generator binds it, or change {source.split()[0]}")
        if self.inner is None:
            h, (o1, o2), f, trs = self.inner_width, self.outer_widths, self.final_width, self.track_running_stats
            self.inner = nn.Sequential(nn.Linear(1, h), _BNReLU(h, h, trs), nn.Linear(h, 1))
            self.outer = nn.Sequential(_BNReLU(in_features, o1, trs), nn.Linear(o1, o2))
            self.final = nn.Sequential(nn.Linear(o2, f), nn.Linear(f, out_features))
        self.in_features, self.out_features = in_features, out_features
        return self

    def layer_counts(self) -> list[int]:
        """Parameters of each Table 1 row, measured on the built layers (Linear + its BatchNorm)."""
        if self.inner is None or self.outer is None or self.final is None:
            raise RuntimeError("MultimodelMapping is not bound; call .bind(n_qubits + 1, n_per_state) first")
        rows = [self.inner[0], self.inner[1], self.inner[2], self.outer[0], self.outer[1],
                self.final[0], self.final[1]]
        return [sum(p.numel() for p in m.parameters()) for m in rows]

    def forward(self, x: Tensor) -> Tensor:
        if self.inner is None or self.outer is None or self.final is None:
            raise RuntimeError("MultimodelMapping is not bound; pass it to QuantumParameterGenerator/QuantumTrain "
                               "or call .bind(in_features, out_features) first")
        rows, n_vars = x.shape
        # the inner network sees every variable of every row as one scalar sample
        z = self.inner(x.reshape(rows * n_vars, 1)).reshape(rows, n_vars)
        y = self.final(self.outer(z))
        return y - y.mean(dim=1, keepdim=True) if self.center == "group" else y

    def extra_repr(self) -> str:
        return (f"inner={self.inner_width}, outer={self.outer_widths}, final={self.final_width}, "
                f"center={self.center!r}, track_running_stats={self.track_running_stats}")
