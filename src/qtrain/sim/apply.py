"""The one kernel: pure functions that apply gates to a flat batched statevector.

States here are ``(B, 2**n)`` tensors; basis index bit ``n-1-q`` belongs to qubit ``q`` (qubit 0
is the most significant bit). Matrices are shared ``(d, d)`` or per-sample ``(B, d, d)``.

Each ``apply_*`` has an ``*_adjoint`` partner used by the adjoint gradient method: given the
state ``psi`` right after the step and the gradient ``g`` w.r.t. it, it returns the state and
gradient right before the step and the gradient w.r.t. the step's matrices. With torch's complex
convention (``g = dL/d conj(psi)``) a step ``psi = U phi`` has ``dL/dU = g phi^H = (g psi^H) U``.
"""
from __future__ import annotations

import torch
from torch import Tensor

__all__ = [
    "apply_1q",
    "apply_2q",
    "apply_layer",
    "apply_permutation",
    "apply_diagonal",
    "layer_adjoint",
    "twoq_adjoint",
    "kron_chunks",
]

_KRON_MIN_WIRES = 3  # layers touching at least this many wires use the Kronecker-chunk GEMM path


def _mh(m: Tensor) -> Tensor:
    return m.conj().transpose(-1, -2) if m.is_complex() else m.transpose(-1, -2)


def apply_1q(state: Tensor, n: int, wire: int, mat: Tensor) -> Tensor:
    """Apply a 2x2 matrix (shared ``(2,2)`` or per-sample ``(B,2,2)``) to ``wire``."""
    b = state.shape[0]
    s = state.view(b, 2**wire, 2, 2 ** (n - wire - 1))
    if mat.dim() == 2:
        out = torch.einsum("ij,bljr->blir", mat, s)
    else:
        out = torch.einsum("bij,bljr->blir", mat, s)
    return out.reshape(b, 2**n)


def _front(state: Tensor, n: int, wires: tuple[int, ...]) -> Tensor:
    b = state.shape[0]
    dims = [0] + [1 + w for w in wires] + [1 + q for q in range(n) if q not in wires]
    return state.view(b, *([2] * n)).permute(*dims).reshape(b, 2 ** len(wires), 2 ** (n - len(wires)))


def _back(front: Tensor, n: int, wires: tuple[int, ...]) -> Tensor:
    b = front.shape[0]
    order = list(wires) + [q for q in range(n) if q not in wires]
    inv = [0] * n
    for pos, q in enumerate(order):
        inv[q] = pos
    return front.view(b, *([2] * n)).permute(0, *[1 + i for i in inv]).reshape(b, 2**n)


def apply_2q(state: Tensor, n: int, wires: tuple[int, int], mat: Tensor) -> Tensor:
    """Apply a 4x4 matrix (shared or per-sample) to two wires, first wire most significant."""
    f = _front(state, n, wires)
    return _back(torch.matmul(mat, f), n, wires)


def twoq_adjoint(psi: Tensor, g: Tensor, n: int, wires: tuple[int, int], mat: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Adjoint step of :func:`apply_2q`: returns ``(psi_before, g_before, dL/dmat)``."""
    pf, gf = _front(psi, n, wires), _front(g, n, wires)
    cross = torch.matmul(gf, _mh(pf))  # (B, 4, 4)
    if mat.dim() == 2:
        cross = cross.sum(0)
    mh = _mh(mat)
    return _back(mh @ pf, n, wires), _back(mh @ gf, n, wires), cross @ mat


def apply_permutation(state: Tensor, index: Tensor, phases: Tensor | None = None) -> Tensor:
    """``out[:, k] = phases[k] * state[:, index[k]]`` (a product of fixed monomial gates)."""
    out = state.index_select(1, index)
    return out if phases is None else out * phases


def apply_diagonal(state: Tensor, diag: Tensor) -> Tensor:
    """Multiply by a diagonal ``(2**n,)`` or per-sample ``(B, 2**n)``."""
    return state * diag


def _chunks(n: int) -> list[tuple[int, int]]:
    """Split qubits 0..n-1 into consecutive chunks of ~4-5 qubits (GEMM-friendly sizes)."""
    if n <= 5:
        return [(0, n)]
    k = 5 if n % 4 else 4
    bounds = list(range(0, n, k)) + [n]
    out = [(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    if out[-1][1] - out[-1][0] < 3 and len(out) > 1:  # tiny last chunks make slow GEMMs
        a0, _ = out[-2]
        mid = (a0 + n) // 2
        out[-2:] = [(a0, mid), (mid, n)]
    return out


def kron_chunks(n: int, wires: tuple[int, ...], mats: Tensor) -> list[tuple[int, int, Tensor | None]]:
    """Kronecker products of the per-wire matrices for each chunk (None: no gate in the chunk).

    ``mats`` is ``(nw, 2, 2)`` or ``(B, nw, 2, 2)``; chunk matrices are ``([B,] 2**k, 2**k)``.
    """
    pos = {w: i for i, w in enumerate(wires)}
    batched = mats.dim() == 4
    out: list[tuple[int, int, Tensor | None]] = []
    for a, b in _chunks(n):
        if not any(q in pos for q in range(a, b)):
            out.append((a, b, None))
            continue
        acc: Tensor | None = None
        for q in range(a, b):
            if q in pos:
                m = mats[..., pos[q], :, :]
            else:
                m = torch.eye(2, dtype=mats.dtype, device=mats.device)
                m = m.expand(mats.shape[0], 2, 2) if batched else m
            if acc is None:
                acc = m
            else:
                d = acc.shape[-1]
                acc = (acc[..., :, None, :, None] * m[..., None, :, None, :]).reshape(*acc.shape[:-2], 2 * d, 2 * d)
        out.append((a, b, acc))
    return out


def apply_layer(state: Tensor, n: int, wires: tuple[int, ...], mats: Tensor) -> Tensor:
    """Apply one 2x2 matrix per wire (they commute). ``mats``: ``(nw,2,2)`` or ``(B,nw,2,2)``.

    Many wires: chunk the qubits, build each chunk's Kronecker product and apply it with one
    GEMM whose transposed output rotates the chunk to the back; after all chunks the qubit
    order is the original again. Few wires: one einsum per wire.
    """
    if len(wires) < _KRON_MIN_WIRES:
        for i, w in enumerate(wires):
            state = apply_1q(state, n, w, mats[..., i, :, :])
        return state
    b = state.shape[0]
    for a, c, g in kron_chunks(n, wires, mats):
        s = state.view(b, 2 ** (c - a), 2 ** (n - c + a))
        if g is None:
            state = s.transpose(1, 2).reshape(b, 2**n)
        else:
            state = torch.matmul(s.transpose(1, 2), g.transpose(-1, -2)).reshape(b, 2**n)
    return state


def _partial_cross(cross: Tensor, k: int, p: int) -> Tensor:
    """2x2 cross matrix of qubit ``p`` of a ``k``-qubit chunk: trace out the others."""
    b = cross.shape[0]
    c = cross.view(b, 2**p, 2, 2 ** (k - p - 1), 2**p, 2, 2 ** (k - p - 1))
    return torch.einsum("zaxcayc->zxy", c)


def layer_adjoint(
    psi: Tensor, g: Tensor, n: int, wires: tuple[int, ...], mats: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Adjoint step of :func:`apply_layer`: returns ``(psi_before, g_before, dL/dmats)``."""
    batched = mats.dim() == 4
    if len(wires) < _KRON_MIN_WIRES:
        grads = []
        for i in reversed(range(len(wires))):
            w, m = wires[i], mats[..., i, :, :]
            pf = psi.view(psi.shape[0], 2**w, 2, 2 ** (n - w - 1))
            gf = g.view(g.shape[0], 2**w, 2, 2 ** (n - w - 1))
            cross = torch.einsum("blir,bljr->bij", gf, pf.conj() if pf.is_complex() else pf)
            if not batched:
                cross = cross.sum(0)
            grads.append(cross @ m)
            mh = _mh(m)
            psi, g = apply_1q(psi, n, w, mh), apply_1q(g, n, w, mh)
        return psi, g, torch.stack(grads[::-1], dim=-3)
    b = psi.shape[0]
    pos = {w: i for i, w in enumerate(wires)}
    grad = torch.zeros((b,) + mats.shape[1:] if batched else mats.shape, dtype=mats.dtype, device=mats.device)
    for a, c, gm in reversed(kron_chunks(n, wires, mats)):
        k = c - a
        pr, gr = psi.view(b, 2 ** (n - k), 2**k), g.view(b, 2 ** (n - k), 2**k)  # this chunk sits at the back
        if gm is not None:
            cross = torch.matmul(gr.transpose(1, 2), pr.conj() if pr.is_complex() else pr)
            for q in range(a, c):
                if q in pos:
                    cq = _partial_cross(cross, k, q - a)
                    grad[..., pos[q], :, :] += cq if batched else cq.sum(0)
            gh = _mh(gm)
            psi = torch.matmul(gh, pr.transpose(1, 2)).reshape(b, 2**n)
            g = torch.matmul(gh, gr.transpose(1, 2)).reshape(b, 2**n)
        else:
            psi, g = pr.transpose(1, 2).reshape(b, 2**n), gr.transpose(1, 2).reshape(b, 2**n)
    return psi, g, grad @ mats
