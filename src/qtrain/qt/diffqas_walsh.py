"""Exact probabilities of the no-H Rx candidates (configs 7, 10) by two Walsh-Hadamard transforms.

Conjugating by ``H`` on every wire turns ``Rx(t)`` into ``Rz(t)`` and ``CNOT(c -> t)`` into
``CNOT(t -> c)``, and ``H|0...0> = |+...+>``. So an Rx + CNOT circuit started in ``|0...0>`` is
``H^n V |+...+>`` where ``V`` (Rz layers and reversed CNOT networks) maps ``|x>`` to
``exp(i Phi(x)) |M x>``: ``M`` is the GF(2) matrix of the whole reversed network and the Rz on wire
``q`` of layer ``d`` adds ``-theta[d, q] / 2 * (-1)^(l_dq . x)``, ``l_dq`` being wire ``q``'s bit as a
parity of ``x`` at that layer. Hence, with ``W`` the (unnormalised) Walsh-Hadamard transform:

* ``Phi = -W(c) / 2`` where ``c[l] = sum of theta[d, q] over l_dq = l``;
* the amplitude of ``|y>`` is ``2^-n W(exp(i Phi))[M^T y]``, so ``p(y) = |W(exp(i Phi))[M^T y]|^2 / 4^n``.

That is ``O(n 2^n)`` work in two transforms instead of ``depth`` layers of a complex statevector,
differentiable by autograd (``W`` is symmetric: its backward is ``W`` again). Tested against the
literal circuit on the simulator (``tests/qt/test_diffqas_walsh.py``).

Example:
    >>> import torch
    >>> walsh_rx_probs(torch.zeros(4), 2, 2, [(0, 1)]).tolist()   # no rotation: all mass on |00>
    [1.0, 0.0, 0.0, 0.0]
"""
from __future__ import annotations

import functools
from typing import Any, Sequence

import torch
from torch import Tensor

__all__ = ["walsh_hadamard", "walsh_rx_probs", "rx_network_masks"]


class _WHT(torch.autograd.Function):
    """``W x`` of a ``(2**n,)`` vector; ``W`` is real and symmetric, so the backward is ``W g``."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:  # type: ignore[override]
        return _butterflies(x)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> Tensor:  # type: ignore[override]
        return _butterflies(g)


@functools.lru_cache(maxsize=16)
def _hadamard_matrix(k: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """The ``2**k x 2**k`` Sylvester matrix ``(-1)^popcount(i & j)`` (built once per dtype and device)."""
    h = torch.ones(1, 1, dtype=dtype, device=device)
    for _ in range(k):
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)])
    return h


def _butterflies(x: Tensor) -> Tensor:
    """The transform without an autograd graph: the low 5 bits as one small matmul (strided passes
    are slow), then one in-place radix-2 pass per remaining bit, on a fresh tensor."""
    dim = x.shape[-1]
    k = min(5, dim.bit_length() - 1)
    x = (x.reshape(-1, 2**k) @ _hadamard_matrix(k, x.dtype, x.device)).reshape(dim)
    h = 2**k
    spare = torch.empty(dim // 2, dtype=x.dtype, device=x.device)
    while h < dim:
        v = x.view(-1, 2, h)
        a, b, t = v[:, 0], v[:, 1], spare.view(-1, h)
        t.copy_(a)
        a.add_(b)
        torch.sub(t, b, out=t)
        b.copy_(t)
        h *= 2
    return x


def walsh_hadamard(x: Tensor) -> Tensor:
    """Unnormalised Walsh-Hadamard transform of a ``(2**n,)`` vector: ``out[k] = sum_x (-1)^popcount(k & x) v[x]``.

    Example:
        >>> walsh_hadamard(torch.tensor([1.0, 0.0, 0.0, 0.0])).tolist()
        [1.0, 1.0, 1.0, 1.0]
    """
    if x.dim() != 1 or x.shape[0] & (x.shape[0] - 1):
        raise ValueError(f"walsh_hadamard takes a vector of length 2**n, got shape {tuple(x.shape)}")
    return _WHT.apply(x)


def rx_network_masks(n_qubits: int, depth: int, pairs: Sequence[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """``(l, final)``: the parity mask ``l_dq`` (index ``d * n + q``) of every Rz, and the rows of ``M``.

    ``pairs`` are the layer's CNOTs ``(control, target)`` of the *original* circuit in time order;
    masks use the simulator's convention (wire 0 is the most significant bit of a basis index).
    """
    n = n_qubits
    rows = [1 << (n - 1 - q) for q in range(n)]  # wire q's bit as a parity of the start state x
    masks: list[int] = []
    for _ in range(depth):
        masks += rows
        for c, t in pairs:  # reversed in the H picture: CNOT(t -> c), i.e. bit c ^= bit t
            rows[c] ^= rows[t]
    return masks, rows


def _transpose_index(rows: Sequence[int], n: int, device: torch.device) -> Tensor:
    """``idx[y] = M^T y`` (XOR of ``rows[q]`` over the wires ``q`` set in ``y``) for every basis index ``y``."""
    idx = torch.zeros(1, dtype=torch.int64, device=device)
    for b in range(n):  # integer bit b is wire n - 1 - b; each pass doubles the table
        idx = torch.cat([idx, idx ^ rows[n - 1 - b]])
    return idx


def walsh_rx_probs(theta: Tensor, n_qubits: int, depth: int, pairs: Sequence[tuple[int, int]],
                   cache: dict[tuple, tuple[Tensor, Tensor]] | None = None) -> Tensor:
    """Probabilities ``(2**n,)`` of ``depth`` x (Rx on every wire, CNOTs ``pairs``) from ``|0...0>``.

    Computed in float64 and returned in ``theta``'s dtype. ``theta`` has ``depth * n`` angles,
    ``theta[d * n + q]`` on wire ``q`` of layer ``d``. ``cache`` (optional dict) keeps the index
    tables between calls with the same structure and device.
    """
    n, dev = n_qubits, theta.device
    key = (n, depth, tuple(pairs), str(dev))
    tables = None if cache is None else cache.get(key)
    if tables is None:
        masks, rows = rx_network_masks(n, depth, pairs)
        tables = (torch.tensor(masks, dtype=torch.int64, device=dev), _transpose_index(rows, n, dev))
        if cache is not None:
            cache[key] = tables
    th = theta.reshape(-1).to(torch.float64)
    c = torch.zeros(2**n, dtype=torch.float64, device=dev).index_add(0, tables[0], th)
    phase = walsh_hadamard(c) * -0.5
    re, im = walsh_hadamard(torch.cos(phase)), walsh_hadamard(torch.sin(phase))  # W is real: W(e^{i phi}) by parts
    p = (re.square() + im.square()) * (0.25**n)
    return p[tables[1]].to(theta.dtype)
