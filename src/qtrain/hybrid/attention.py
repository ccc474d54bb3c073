"""Quantum cross-attention: the attention score of a (query, key) pair is a circuit's expectation value.

The V2X paper (arXiv 003, Sec. IV-C) generates cross-modal attention weights "through quantum phase
modulation": the key's semantics are encoded as a phase on the query's quantum state and the
two interfere. :class:`QuantumCrossAttention` does exactly that on ``n`` qubits per pair:

1. query angles ``a = pi * tanh(W_q q + b_q)`` and key phases ``p = pi * tanh(W_k k + b_k)``
   (``n`` each);
2. circuit: ``Ry(a_j)`` then ``Rz(p_j)`` on qubit ``j`` (the key modulates the query's phase),
   then ``layers`` x (``Ry(w)`` on every qubit, CNOT ring) turn phase differences into population
   differences (interference);
3. score ``s(q, k) = sum_j r_j <Z_j>`` with trainable readout weights ``r``;
   ``weights = softmax_k(s)``, ``out = W_o (weights @ (W_v k + b_v))``.

Quantum parameters: ``n * layers`` circuit weights + ``n`` readout weights. With ``layers = n - 1``
that is ``n^2``, the size of the bilinear matrix of the classical twin
(:class:`qtrain.models.v2x.BilinearCrossAttention`), so the two have equal parameter counts.

Example:
    >>> import torch
    >>> att = QuantumCrossAttention(d_model=8, n_qubits=4, layers=3)
    >>> out, w = att(torch.randn(2, 5, 8), torch.randn(2, 6, 8))
    >>> out.shape, w.shape, round(float(w.detach().sum(-1)[0, 0]), 5)
    (torch.Size([2, 5, 8]), torch.Size([2, 5, 6]), 1.0)
    >>> att.n_quantum_params
    16
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from qtrain.sim import Circuit, CompiledCircuit, DiffMethod, Input
from qtrain.sim.cache import CompileCache

__all__ = ["QuantumCrossAttention", "attention_circuit"]


def attention_circuit(n_qubits: int, layers: int) -> Circuit:
    """``Ry(Input(j))``, ``Rz(Input(n + j))`` per qubit, then ``layers`` x (Ry weights, CNOT ring).

    Weight ``l * n + q`` is the Ry angle of qubit ``q`` in layer ``l``.

    Example:
        >>> attention_circuit(4, 3).n_params, attention_circuit(4, 3).n_inputs
        (12, 8)
    """
    for name, v in (("n_qubits", n_qubits), ("layers", layers)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name}={v!r} must be a positive integer")
    c = Circuit(n_qubits)
    for q in range(n_qubits):
        c.ry(q, Input(q)).rz(q, Input(n_qubits + q))
    for layer in range(layers):
        for q in range(n_qubits):
            c.ry(q, layer * n_qubits + q)
        for q in range(n_qubits if n_qubits > 2 else n_qubits - 1):
            c.cnot(q, (q + 1) % n_qubits)
    return c


class QuantumCrossAttention(nn.Module):
    """Single-head cross-attention with circuit-generated scores.

    Args:
        d_model: width of the query and context tokens (and of the output).
        n_qubits: qubits per (query, key) circuit = query/key projection width.
        layers: trainable circuit layers (``n_qubits - 1`` matches the classical twin's size).
        d_value: width of the values (default ``d_model``).
        diff_method: ``"adjoint"`` (default) or ``"backprop"``.

    Shapes:
        ``forward(queries (B, Tq, d_model), context (B, Tk, d_model))`` ->
        ``(out (B, Tq, d_model), weights (B, Tq, Tk))``; each row of ``weights`` sums to 1.
    """

    def __init__(self, d_model: int, n_qubits: int = 4, layers: int = 3, d_value: int | None = None,
                 diff_method: str = "adjoint") -> None:
        super().__init__()
        if isinstance(d_model, bool) or not isinstance(d_model, int) or d_model < 1:
            raise ValueError(f"d_model={d_model!r} must be a positive integer")
        self.d_model, self.n_qubits, self.layers = d_model, n_qubits, layers
        self.diff_method = DiffMethod.parse(diff_method)
        self._desc = attention_circuit(n_qubits, layers)
        d_value = d_value or d_model
        self.q_proj = nn.Linear(d_model, n_qubits)
        self.k_proj = nn.Linear(d_model, n_qubits)
        self.v_proj = nn.Linear(d_model, d_value)
        self.out_proj = nn.Linear(d_value, d_model)
        self.weight = nn.Parameter(torch.empty(self._desc.n_params).uniform_(-math.pi, math.pi))
        self.readout = nn.Parameter(torch.full((n_qubits,), 1.0))
        self._cache = CompileCache(self._desc, self.diff_method)  # compiled per weight device and precision

    @property
    def n_quantum_params(self) -> int:
        """Circuit weights + readout weights."""
        return self.weight.numel() + self.readout.numel()

    def _circuit(self) -> CompiledCircuit:
        return self._cache.get(self.weight)  # type: ignore[return-value]  # noiseless: a CompiledCircuit


    def scores(self, queries: Tensor, context: Tensor) -> Tensor:
        """Pre-softmax scores ``(B, Tq, Tk)``: one circuit per (query, key) pair."""
        a = math.pi * torch.tanh(self.q_proj(queries))  # (B, Tq, n)
        p = math.pi * torch.tanh(self.k_proj(context))  # (B, Tk, n)
        b, tq, tk, n = a.shape[0], a.shape[1], p.shape[1], self.n_qubits
        pairs = torch.cat([a[:, :, None, :].expand(b, tq, tk, n), p[:, None, :, :].expand(b, tq, tk, n)], dim=-1)
        z = self._circuit().expval(self.weight, None, pairs.reshape(-1, 2 * n).to(self.weight.dtype))
        return (z.to(a.dtype) @ self.readout).reshape(b, tq, tk)

    def forward(self, queries: Tensor, context: Tensor) -> tuple[Tensor, Tensor]:
        for name, t in (("queries", queries), ("context", context)):
            if not isinstance(t, Tensor) or t.dim() != 3 or t.shape[-1] != self.d_model:
                shape = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
                raise ValueError(f"{name} has shape {shape}; expected (B, T, {self.d_model})")
        if queries.shape[0] != context.shape[0]:
            raise ValueError(f"queries has batch {queries.shape[0]} but context has {context.shape[0]}; "
                             "they must match")
        weights = torch.softmax(self.scores(queries, context), dim=-1)
        return self.out_proj(weights @ self.v_proj(context)), weights

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, n_qubits={self.n_qubits}, layers={self.layers}"
