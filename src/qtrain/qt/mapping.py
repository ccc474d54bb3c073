"""Mapping networks: one row ``[bits(k), x_k]`` per basis state -> ``n_per_state`` target weights.

:class:`MLPMapping` is the Quantum-Train mapping model. Only hidden sizes are given by the user;
the input size ``n_qubits + 1`` and output size ``n_per_state`` are bound by the generator.
Any ``nn.Module`` taking ``(rows, n_qubits + 1)`` to ``(rows, n_per_state)`` can be used instead;
it is checked by a dry run (:func:`check_mapping`).

Activations, as published:

* Quantum-Train paper (Sec. II C): "tanh is employed in the initial layer of the mapping model",
  ReLU is explicitly not used: ``MLPMapping.paper(hidden)`` = tanh after the first layer only.
* Official Quantum-Train code: ``MappingModel`` has Linear layers and no activation at all
  (its comments say ReLU): ``MLPMapping.official(hidden)``, an affine map.

Example:
    >>> m = MLPMapping((4, 20, 4)).bind(14, 1)   # MNIST: 14-4-20-4-1
    >>> sum(p.numel() for p in m.parameters())
    249
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

__all__ = ["MLPMapping", "ACTIVATIONS", "check_mapping", "run_chunked"]

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU,
    "sigmoid": nn.Sigmoid, "elu": nn.ELU, "leaky_relu": nn.LeakyReLU,
}


def _activation(name: str | None, arg: str) -> nn.Module | None:
    if name is None:
        return None
    if name not in ACTIVATIONS:
        raise ValueError(f"{arg}={name!r} is unknown; use None or one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


class MLPMapping(nn.Module):
    """Multilayer perceptron mapping ``(rows, in_features) -> (rows, out_features)``.

    Args:
        hidden: hidden layer widths, e.g. ``(4, 20, 4)`` (MNIST) or ``(40, 200, 40)`` (CIFAR-10).
        activation: after every hidden layer but the first (None = linear).
        first_activation: after the first hidden layer (paper: ``"tanh"``; official code: None).
        in_features, out_features: leave None to let the generator bind ``n_qubits + 1`` and
            ``n_per_state``; when given they must agree with the generator.

    Shapes:
        ``(rows, in_features) -> (rows, out_features)``.

    Example:
        >>> m = MLPMapping((40, 200, 40), first_activation=None).bind(20, 1)   # CIFAR-10
        >>> sum(p.numel() for p in m.parameters()), m(torch.zeros(3, 20)).shape
        (17121, torch.Size([3, 1]))
    """

    def __init__(self, hidden: Sequence[int] = (4, 20, 4), activation: str | None = None,
                 first_activation: str | None = "tanh", in_features: int | None = None,
                 out_features: int | None = None) -> None:
        super().__init__()
        hidden = tuple(hidden)
        if any(not isinstance(h, int) or h < 1 for h in hidden):
            raise ValueError(f"hidden={hidden!r} must be positive integers, e.g. (4, 20, 4)")
        _activation(activation, "activation")
        _activation(first_activation, "first_activation")
        self.hidden, self.activation, self.first_activation = hidden, activation, first_activation
        self.in_features, self.out_features = in_features, out_features
        self.net: nn.Sequential | None = None
        if in_features is not None and out_features is not None:
            self.bind(in_features, out_features)

    @classmethod
    def paper(cls, hidden: Sequence[int] = (4, 20, 4)) -> MLPMapping:
        """Quantum-Train paper: tanh after the first layer, linear elsewhere."""
        return cls(hidden, activation=None, first_activation="tanh")

    @classmethod
    def official(cls, hidden: Sequence[int] = (4, 20, 4)) -> MLPMapping:
        """Official Quantum-Train code: Linear layers only (an affine map)."""
        return cls(hidden, activation=None, first_activation=None)

    @property
    def bound(self) -> bool:
        return self.net is not None

    def bind(self, in_features: int, out_features: int) -> MLPMapping:
        """Build the layers for ``in_features -> out_features`` in place (checks them when already bound).

        Generators bind a copy of an unbound ``MLPMapping``, so one spec can be reused.
        """
        for name, want, source in (("in_features", in_features, "n_qubits + 1"),
                                   ("out_features", out_features, "n_per_state")):
            have = getattr(self, name)
            if have is not None and have != want:
                raise ValueError(
                    f"MLPMapping {name}={have} but the generator needs {name}={want} ({source}); "
                    f"leave {name}=None so the generator binds it, or change {source.split()[0]} to match"
                )
        if self.net is None:
            sizes = (in_features, *self.hidden, out_features)
            layers: list[nn.Module] = []
            for i in range(len(sizes) - 1):
                layers.append(nn.Linear(sizes[i], sizes[i + 1]))
                act = self.first_activation if i == 0 else self.activation
                if i < len(sizes) - 2 and act is not None:
                    layers.append(ACTIVATIONS[act]())
            self.net = nn.Sequential(*layers)
        self.in_features, self.out_features = in_features, out_features
        return self

    def forward(self, x: Tensor) -> Tensor:
        if self.net is None:
            raise RuntimeError(
                "MLPMapping is not bound; pass it to QuantumParameterGenerator/QuantumTrain "
                "or call .bind(in_features, out_features) first"
            )
        return self.net(x)

    def extra_repr(self) -> str:
        return (f"hidden={self.hidden}, first_activation={self.first_activation!r}, "
                f"activation={self.activation!r}")


def check_mapping(mapping: nn.Module, in_features: int, out_features: int, *,
                  dtype: torch.dtype, device: torch.device) -> float:
    """Dry-run ``mapping`` on 8 rows; return the bytes it keeps for backward per row.

    Raises:
        ValueError: when it fails on ``(rows, in_features)`` or does not return
            ``(rows, out_features)``.
    """
    rows = 8
    x = torch.zeros(rows, in_features, dtype=dtype, device=device, requires_grad=True)
    saved: list[int] = []

    def pack(t: Tensor) -> Tensor:
        saved.append(t.numel() * t.element_size())
        return t

    was_training = mapping.training
    mapping.eval()  # a dry run must not update BatchNorm statistics
    try:
        with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            y = mapping(x)
    except Exception as exc:
        raise ValueError(
            f"mapping {type(mapping).__name__} failed on a dry run with input of shape "
            f"({rows}, {in_features}): {exc}; a mapping takes (rows, n_qubits + 1) = "
            f"(rows, {in_features}) and returns (rows, n_per_state) = (rows, {out_features})"
        ) from exc
    finally:
        mapping.train(was_training)
    shape = tuple(y.shape) if isinstance(y, Tensor) else type(y).__name__
    if shape not in ((rows, out_features),) + (((rows,),) if out_features == 1 else ()):
        raise ValueError(
            f"mapping {type(mapping).__name__} returned {shape} for input ({rows}, {in_features}) "
            f"but n_per_state={out_features} needs ({rows}, {out_features}); make the mapping "
            f"output {out_features} value(s) per row or set n_per_state to its output size"
        )
    return (sum(saved) + y.numel() * y.element_size()) / rows


def run_chunked(fn: Callable[[int, int], Tensor], n_rows: int, chunk_rows: int) -> Tensor:
    """``cat([fn(a, b) for chunks])`` with recomputation (checkpoint) of each chunk under grad.

    ``fn(start, stop)`` must return the mapping output of rows ``start:stop``. Values and
    gradients equal the unchunked evaluation for row-wise mappings (no BatchNorm over rows).
    """
    if chunk_rows >= n_rows:
        return fn(0, n_rows)
    grad = torch.is_grad_enabled()
    outs = []
    for start in range(0, n_rows, chunk_rows):
        stop = min(start + chunk_rows, n_rows)
        outs.append(checkpoint(fn, start, stop, use_reentrant=False) if grad else fn(start, stop))
    return torch.cat(outs, 0)


def chunk_rows_for(n_rows: int, bytes_per_row: float, chunk_size: int | None,
                   memory_budget_mb: float | None) -> int:
    """Rows per chunk: ``chunk_size`` if given, else all rows unless they exceed the budget."""
    if chunk_size is not None:
        if not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f"chunk_size={chunk_size!r} must be a positive integer or None")
        return min(chunk_size, n_rows)
    if memory_budget_mb is None:
        return n_rows
    if memory_budget_mb <= 0:
        raise ValueError(f"memory_budget_mb={memory_budget_mb!r} must be > 0 or None (no limit)")
    budget = memory_budget_mb * 2**20
    if n_rows * bytes_per_row <= budget:
        return n_rows
    return max(1, int(math.floor(budget / max(bytes_per_row, 1.0))))
