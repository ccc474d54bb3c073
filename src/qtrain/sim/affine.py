"""Affine maps over GF(2) on basis indices: how a run of CNOT/SWAP/CZ-like gates moves amplitudes.

A fixed two-qubit gate whose matrix has one non-zero per row (a *monomial* gate) sends the
amplitude at basis index ``src(k)`` to ``k`` (times a phase). On its two bits ``src`` is a
permutation of four values, and every permutation of two bits is affine over GF(2)
(``|AGL(2, 2)| = 24 = |S_4|``), so a whole run of such gates is one affine map
``src(k) = const ^ A k`` with ``A k = XOR of cols[j] over the set bits j of k`` (bit 0 is the
least significant; qubit ``q`` is bit ``n - 1 - q``). Composing, inverting and describing the map
costs O(n) to O(n**2) integer operations, never 2**n: the 2**n index tensor a gather needs is
built only on request (:meth:`AffineMap.index_tensor`), after the state-size check.

Example:
    >>> m = AffineMap.identity(2).then_local((0, 1, 3, 2), 1, 0)  # CNOT(0 -> 1)
    >>> [m(k) for k in range(4)]
    [0, 1, 3, 2]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

__all__ = ["AffineMap"]


def _xor_cols(cols: Sequence[int], v: int) -> int:
    out, j = 0, 0
    while v:
        if v & 1:
            out ^= cols[j]
        v >>= 1
        j += 1
    return out


@dataclass(frozen=True)
class AffineMap:
    """``src(k) = const ^ XOR_{j: bit j of k} cols[j]`` on ``n``-bit basis indices."""

    n: int
    const: int
    cols: tuple[int, ...]

    @classmethod
    def identity(cls, n: int) -> AffineMap:
        return cls(n, 0, tuple(1 << j for j in range(n)))

    def __call__(self, k: int) -> int:
        return self.const ^ _xor_cols(self.cols, k)

    def then_local(self, local: Sequence[int], s0: int, s1: int) -> AffineMap:
        """The map of this run followed by one more gate on bits ``s0`` (high) and ``s1`` (low).

        ``local[v]``: the two-bit source value of two-bit output value ``v`` (``v = 2 b0 + b1``).
        The new source of ``k`` is ``self(g(k))`` where ``g`` is the gate's own source map.
        """
        assert sorted(local) == [0, 1, 2, 3], "a monomial gate permutes its 4 basis states"

        def lift(v: int) -> int:  # two-bit value -> its bits placed at s0, s1
            return ((v >> 1) & 1) << s0 | (v & 1) << s1

        c = local[0]
        low, high = local[1] ^ c, local[2] ^ c  # images of the unit vectors of bits s1 and s0
        assert local[3] == c ^ low ^ high, "two-bit permutations are affine"
        cols = list(self.cols)
        cols[s1] = _xor_cols(self.cols, lift(low))
        cols[s0] = _xor_cols(self.cols, lift(high))
        return AffineMap(self.n, self.const ^ _xor_cols(self.cols, lift(c)), tuple(cols))

    def inverse(self) -> AffineMap:
        """The map ``k -> src^{-1}(k)`` (Gauss-Jordan on bit masks: O(n**2) word operations)."""
        n = self.n
        # rows of [A | I]: row i holds bit i of every column of A, and the unit row of I
        rows = [(sum(((self.cols[j] >> i) & 1) << j for j in range(n)), 1 << i) for i in range(n)]
        for col in range(n):
            piv = next(r for r in range(col, n) if (rows[r][0] >> col) & 1)  # A is invertible
            rows[col], rows[piv] = rows[piv], rows[col]
            for r in range(n):
                if r != col and (rows[r][0] >> col) & 1:
                    rows[r] = (rows[r][0] ^ rows[col][0], rows[r][1] ^ rows[col][1])
        inv_cols = tuple(sum(((rows[i][1] >> j) & 1) << i for i in range(n)) for j in range(n))
        # src(k) = c ^ A k  =>  src^{-1}(m) = A^{-1} c ^ A^{-1} m
        return AffineMap(n, _xor_cols(inv_cols, self.const), inv_cols)

    def index_tensor(self, device: torch.device | str = "cpu") -> torch.Tensor:
        """``[src(k) for k in range(2**n)]`` as int64, built by doubling (no temporaries)."""
        out = torch.empty(2**self.n, dtype=torch.int64, device=device)
        out[0] = self.const
        for j, c in enumerate(self.cols):
            half = 1 << j
            torch.bitwise_xor(out[:half], c, out=out[half:2 * half])
        return out
