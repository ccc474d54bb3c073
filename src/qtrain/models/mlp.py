"""Multilayer perceptrons: the DiffQAS-QT image classifier and the A3C actor and critic.

Paper: DiffQAS-QT (Sec. VI-A, VI-C). Parameter counts, as in the paper:

* image classifier 784-128-64-2: 108,866;
* A3C actor (policy) 147-32-32-7: 6,023; critic (value) 147-32-32-1: 5,825.

Example:
    >>> sum(p.numel() for p in MLP((784, 128, 64, 2)).parameters())
    108866
"""
from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn

__all__ = ["MLP", "image_mlp", "actor_mlp", "critic_mlp"]

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}


class MLP(nn.Module):
    """``Linear`` layers of the given widths with an activation between them (none after the last).

    Args:
        sizes: widths from input to output, at least two, e.g. ``(784, 128, 64, 2)``.
        activation: ``"relu"`` (default) or ``"tanh"``.
        flatten: flatten every input dimension after the batch first (images).

    Shapes:
        ``(batch, sizes[0])`` (or ``(batch, ...)`` with ``flatten``) -> ``(batch, sizes[-1])``.
    """

    def __init__(self, sizes: Sequence[int], activation: str = "relu", flatten: bool = False) -> None:
        super().__init__()
        sizes = tuple(sizes)
        if len(sizes) < 2 or any(not isinstance(s, int) or isinstance(s, bool) or s < 1 for s in sizes):
            raise ValueError(f"sizes={sizes!r} must be at least two positive integers, e.g. (784, 128, 64, 2)")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation={activation!r} is not supported; use one of {sorted(_ACTIVATIONS)}")
        self.sizes, self.activation, self.flatten = sizes, activation, flatten
        layers: list[nn.Module] = [nn.Flatten()] if flatten else []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(_ACTIVATIONS[activation]())
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}, activation={self.activation!r}"


def image_mlp(n_classes: int = 2) -> MLP:
    """784-128-64-``n_classes`` with ReLU on flattened 28x28 images (108,866 weights for 2 classes)."""
    return MLP((784, 128, 64, n_classes), flatten=True)


def actor_mlp(obs_dim: int = 147, n_actions: int = 7, hidden: int = 32) -> MLP:
    """The A3C policy network, logits over actions: 147-32-32-7 = 6,023 weights."""
    return MLP((obs_dim, hidden, hidden, n_actions))


def critic_mlp(obs_dim: int = 147, hidden: int = 32) -> MLP:
    """The A3C value network: 147-32-32-1 = 5,825 weights."""
    return MLP((obs_dim, hidden, hidden, 1))
