"""Classical models of the V2X recipes: twins of the quantum layers at equal size, and target networks.

* :class:`PatchFeatures2d` -- ``tanh(Conv2d(1, n_out, k, stride=k, bias=False))``: the classical twin
  of :class:`qtrain.hybrid.quanv.Quanv2d` (``k * k * n_out`` weights: 16 for 2x2 patches and 4
  outputs, as many as the 2-layer 4-qubit ``vqc`` circuit).
* :class:`DenseFeatures` -- ``tanh(Linear(n_in, n_out, bias=False))``: twin of a feature layer on a vector.
* :class:`BilinearCrossAttention` -- classical cross-attention with score ``q^T M k / sqrt(d_k)``
  (``d_k^2`` weights in ``M``): the twin of :class:`qtrain.hybrid.attention.QuantumCrossAttention`.
* :class:`DigitsCNN` -- a small CNN for 8x8 Digits (the federated target: 8,986 weights).
* :class:`ActorCritic` -- policy and value MLPs in one module (the model-transfer target).

Example:
    >>> import torch
    >>> sum(p.numel() for p in DigitsCNN().parameters())
    8986
    >>> PatchFeatures2d(4, 2)(torch.rand(3, 1, 8, 8)).shape
    torch.Size([3, 4, 4, 4])
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["PatchFeatures2d", "DenseFeatures", "BilinearCrossAttention", "DigitsCNN", "ActorCritic"]


class PatchFeatures2d(nn.Module):
    """``(B, 1, H, W)`` -> ``(B, n_out, H / k, W / k)``: a bias-free ``k x k`` stride-``k`` conv, then tanh."""

    def __init__(self, n_out: int = 4, k: int = 2) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, n_out, k, stride=k, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return torch.tanh(self.conv(x))


class DenseFeatures(nn.Module):
    """``(..., n_in)`` -> ``tanh(W x)`` ``(..., n_out)`` with ``n_in * n_out`` weights."""

    def __init__(self, n_in: int = 4, n_out: int = 4) -> None:
        super().__init__()
        self.linear = nn.Linear(n_in, n_out, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return torch.tanh(self.linear(x))


class BilinearCrossAttention(nn.Module):
    """Single-head cross-attention with bilinear scores ``s = (W_q q + b_q)^T M (W_k k + b_k) / sqrt(d_k)``.

    Shapes:
        ``forward(queries (B, Tq, d_model), context (B, Tk, d_model))`` ->
        ``(out (B, Tq, d_model), weights (B, Tq, Tk))``.
    """

    def __init__(self, d_model: int, d_k: int = 4, d_value: int | None = None) -> None:
        super().__init__()
        d_value = d_value or d_model
        self.d_k = d_k
        self.q_proj = nn.Linear(d_model, d_k)
        self.k_proj = nn.Linear(d_model, d_k)
        self.v_proj = nn.Linear(d_model, d_value)
        self.out_proj = nn.Linear(d_value, d_model)
        self.bilinear = nn.Parameter(torch.eye(d_k))

    def forward(self, queries: Tensor, context: Tensor) -> tuple[Tensor, Tensor]:
        q, k = self.q_proj(queries), self.k_proj(context)
        scores = (q @ self.bilinear) @ k.transpose(-2, -1) / math.sqrt(self.d_k)
        weights = torch.softmax(scores, dim=-1)
        return self.out_proj(weights @ self.v_proj(context)), weights


_ACTS = {"relu": torch.relu, "tanh": torch.tanh, "none": lambda t: t}


class DigitsCNN(nn.Module):
    """8x8 digits -> 10 logits: Conv(1->8, 3x3, pad 1) act MaxPool2 -> FC 128->64 act -> FC 64->10.

    80 + 8,256 + 650 = 8,986 weights. ``act``: ``"relu"``, ``"tanh"`` or ``"none"`` (max-pooling
    stays the only non-linearity; Quantum-Train generators train better without ReLU).
    """

    def __init__(self, n_classes: int = 10, channels: int = 8, hidden: int = 64, act: str = "relu") -> None:
        super().__init__()
        if act not in _ACTS:
            raise ValueError(f"act={act!r} is not supported; use one of {sorted(_ACTS)}")
        self.act_name, self.act = act, _ACTS[act]
        self.conv = nn.Conv2d(1, channels, 3, padding=1)
        self.fc1 = nn.Linear(channels * 16, hidden)
        self.fc2 = nn.Linear(hidden, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        h = torch.max_pool2d(self.act(self.conv(x)), 2)
        return self.fc2(self.act(self.fc1(h.flatten(1))))


class ActorCritic(nn.Module):
    """Policy logits and state value from two MLPs ``obs -> hidden -> hidden -> out`` (``act`` between layers).

    Shapes:
        ``forward(obs (B, obs_dim)) -> (logits (B, n_actions), value (B,))``.
    """

    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 32, act: str = "tanh") -> None:
        super().__init__()
        layers = {"tanh": nn.Tanh, "relu": nn.ReLU, "none": nn.Identity}
        if act not in layers:
            raise ValueError(f"act={act!r} is not supported; use one of {sorted(layers)}")

        def mlp(out: int) -> nn.Sequential:
            return nn.Sequential(nn.Linear(obs_dim, hidden), layers[act](), nn.Linear(hidden, hidden), layers[act](),
                                 nn.Linear(hidden, out))

        self.actor, self.critic = mlp(n_actions), mlp(1)

    def forward(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        return self.actor(obs), self.critic(obs).squeeze(-1)
