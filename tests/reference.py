"""Independent dense-matrix reference simulator for tests (complex128, full 2**n x 2**n unitaries)."""
from __future__ import annotations

import numpy as np
import torch

from qtrain.sim.circuit import Circuit, Input


def embed(mat: np.ndarray, wires: tuple[int, ...], n: int) -> np.ndarray:
    """Full 2**n unitary of ``mat`` on ``wires`` (qubit 0 = most significant bit)."""
    dim = 2**n
    full = np.zeros((dim, dim), dtype=complex)
    k = len(wires)
    for col in range(dim):
        bits = [(col >> (n - 1 - q)) & 1 for q in range(n)]
        local = 0
        for w in wires:
            local = local * 2 + bits[w]
        for r in range(2**k):
            amp = mat[r, local]
            if amp == 0:
                continue
            out = list(bits)
            for i, w in enumerate(wires):
                out[w] = (r >> (k - 1 - i)) & 1
            row = int("".join(map(str, out)), 2)
            full[row, col] += amp
    return full


def reference_state(circuit: Circuit, weights: np.ndarray, inputs: np.ndarray | None = None) -> np.ndarray:
    """States ``(B, 2**n)`` by multiplying full unitaries, one per op."""
    n = circuit.n_qubits
    b = 1 if inputs is None else inputs.shape[0]
    out = []
    for s in range(b):
        psi = np.zeros(2**n, dtype=complex)
        psi[0] = 1
        for op in circuit.ops:
            vals = []
            for p in op.params:
                if isinstance(p, Input):
                    vals.append(p.scale * inputs[s, p.index])
                elif isinstance(p, int):
                    vals.append(weights[p])
                else:
                    vals.append(p)
            m = op.gate.matrix(torch.tensor(vals, dtype=torch.float64)).to(torch.complex128).numpy()
            psi = embed(m, op.wires, n) @ psi
        out.append(psi)
    return np.stack(out)
