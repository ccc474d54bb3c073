"""An LSTM with one bias per gate, and the DiffQAS-QT time-series regressor built on it.

Paper: DiffQAS-QT (Sec. VI-B): the classical LSTM has 1,781 parameters, i.e. hidden size 20, input
size 1, each gate one ``Linear(input + hidden -> hidden)`` (one bias per gate, unlike
``torch.nn.LSTM``'s two), and a ``Linear(20 -> 1)`` read-out: ``4 * (21 * 20 + 20) + 21 = 1,781``.
The gates are one fused ``Linear(21 -> 80)`` (same count, one matmul per step); its parameters are
ordinary tensors, so Quantum-Train generates them through ``torch.func.functional_call`` and every
one of them receives a gradient (the public QT-LSTM code copies generated weights into an
``nn.LSTM`` with ``.data.copy_``, which cuts them off).

Example:
    >>> import torch
    >>> m = SeriesLSTM()
    >>> sum(p.numel() for p in m.parameters()), m(torch.zeros(5, 4, 1)).shape
    (1781, torch.Size([5, 1]))
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["GateBiasLSTM", "SeriesLSTM"]


class GateBiasLSTM(nn.Module):
    """Single-layer LSTM, gates ``sigma/tanh(W [x_t, h_{t-1}] + b)`` with one bias per gate.

    Gate order in ``gates.weight`` rows: input, forget, cell, output (``torch.nn.LSTM``'s order).

    Args:
        input_size: features per time step.
        hidden_size: hidden and cell state size.

    Shapes:
        ``x``: ``(batch, time, input_size)`` -> hidden states ``(batch, time, hidden_size)``.
    """

    def __init__(self, input_size: int = 1, hidden_size: int = 20) -> None:
        super().__init__()
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name}={v!r} must be a positive integer")
        self.input_size, self.hidden_size = input_size, hidden_size
        self.gates = nn.Linear(input_size + hidden_size, 4 * hidden_size)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"x must have shape (batch, time, {self.input_size}), got {tuple(x.shape)}")
        b = x.shape[0]
        h = x.new_zeros(b, self.hidden_size)
        c = x.new_zeros(b, self.hidden_size)
        out = []
        for t in range(x.shape[1]):
            i, f, g, o = self.gates(torch.cat([x[:, t], h], 1)).chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            out.append(h)
        return torch.stack(out, 1)

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}"


class SeriesLSTM(nn.Module):
    """:class:`GateBiasLSTM` then ``Linear(hidden -> 1)`` on the last hidden state: 1,781 weights by default.

    Shapes:
        ``x``: ``(batch, window, 1)`` (or ``(batch, window)``) -> prediction ``(batch, 1)``.
    """

    def __init__(self, input_size: int = 1, hidden_size: int = 20) -> None:
        super().__init__()
        self.lstm = GateBiasLSTM(input_size, hidden_size)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 2 and self.lstm.input_size == 1:
            x = x.unsqueeze(-1)
        return self.head(self.lstm(x)[:, -1])
