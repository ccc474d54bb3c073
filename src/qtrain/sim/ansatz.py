"""Ansatz builders used by the papers. Weight ``i`` of the returned circuit is ``weights[i]``.

* :func:`ry_cnot` -- Quantum-Train paper: per block, Ry on every qubit then the CNOT chain
  0->1->...->n-1 (optionally closed into a ring). ``n * blocks`` weights, block-major.
* :func:`u3_cu3` -- QET paper eq. (3) and the official Quantum-Train code: per block, U3 on every
  qubit then CU3 on neighbours (chain, or ring with (n-1, 0) as in TorchQuantum's
  ``Op2QAllLayer(circular=True)``). Per block ``3n`` U3 weights then ``3`` per CU3 pair.
"""
from __future__ import annotations

from qtrain.sim.circuit import Circuit

__all__ = ["ry_cnot", "u3_cu3", "ANSATZE", "build_ansatz"]


def _check(n_qubits: int, blocks: int) -> None:
    if not isinstance(n_qubits, int) or n_qubits < 1:
        raise ValueError(f"n_qubits={n_qubits!r} must be a positive integer")
    if not isinstance(blocks, int) or blocks < 1:
        raise ValueError(f"blocks={blocks!r} must be a positive integer")


def ry_cnot(n_qubits: int, blocks: int, circular: bool = False) -> Circuit:
    """Ry layer + CNOT chain, ``blocks`` times.

    Example:
        >>> ry_cnot(13, 16).n_params
        208
    """
    _check(n_qubits, blocks)
    c = Circuit(n_qubits)
    for b in range(blocks):
        for q in range(n_qubits):
            c.ry(q, b * n_qubits + q)
        for q in range(n_qubits - 1):
            c.cnot(q, q + 1)
        if circular and n_qubits > 2:
            c.cnot(n_qubits - 1, 0)
    return c


def u3_cu3(n_qubits: int, blocks: int, ring: bool = True) -> Circuit:
    """U3 layer + CU3 entanglers, ``blocks`` times.

    Example:
        >>> u3_cu3(13, 16).n_params   # official Quantum-Train code: 1,248
        1248
        >>> u3_cu3(6, 50, ring=False).n_params   # QET-6: 50 * (18 + 15)
        1650
    """
    _check(n_qubits, blocks)
    pairs = [(q, q + 1) for q in range(n_qubits - 1)]
    if ring and n_qubits > 2:
        pairs.append((n_qubits - 1, 0))
    c = Circuit(n_qubits)
    per_block = 3 * n_qubits + 3 * len(pairs)
    for b in range(blocks):
        base = b * per_block
        for q in range(n_qubits):
            c.u3(q, base + 3 * q, base + 3 * q + 1, base + 3 * q + 2)
        for i, (a, t) in enumerate(pairs):
            k = base + 3 * n_qubits + 3 * i
            c.cu3(a, t, k, k + 1, k + 2)
    return c


ANSATZE = {"ry_cnot": ry_cnot, "u3_cu3": u3_cu3}


def build_ansatz(name: str, n_qubits: int, blocks: int, **kwargs: bool) -> Circuit:
    """Build an ansatz by name (``ry_cnot`` or ``u3_cu3``)."""
    if name not in ANSATZE:
        raise ValueError(f"ansatz={name!r} is unknown; use one of {sorted(ANSATZE)}")
    return ANSATZE[name](n_qubits, blocks, **kwargs)
