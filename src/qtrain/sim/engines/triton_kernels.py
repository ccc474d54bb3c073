"""Triton kernels of the Triton engine: one launch runs one pass of a plan (see ``triton_plan``).

Each program holds one tile of one sample in registers: ``xr`` (and ``xi`` for complex states,
``C == 2``: complex tensors are read through ``torch.view_as_real``, real and imaginary parts
interleaved). Ops address tile-local bits: a 2x2 on bit ``lb`` pairs element ``i`` with
``i ^ (1 << lb)`` through ``tl.gather`` (a register/shared-memory exchange, no global traffic);
a 4x4 gathers the four members of each group; a permutation (single-pass plans only) gathers
``x[src(i)]`` with ``src`` the stage's affine map over GF(2).

The adjoint kernel walks a pass's ops backwards on the state after the pass (``psi``) and the
gradient with respect to it (``g``, torch's convention ``dL/d conj(psi)``), writing each op's
``cross[r][c] = sum_{k: local(k) = r} g[k] conj(psi[k with local c])`` for this program's tile
(summed over tiles and, for shared matrices, samples on the host: ``dL/dU = cross @ U``) and
undoing the op with ``U^H``. Partial sums go to per-program slots, not atomics, so results are
deterministic.

This module imports Triton at import time; the engine imports it lazily (and a second time with
Triton's interpreter switched on, to run the same kernels on CPU tensors).
"""
from __future__ import annotations

import triton
import triton.language as tl

__all__ = ["adjoint_kernel", "forward_kernel"]

OPW: tl.constexpr = tl.constexpr(8)  # columns of an op row (triton_plan.OP_WIDTH)
_SUM = tl.standard._sum_combine


@triton.jit
def _ld4(m, C: tl.constexpr):
    """The four entries of a 2x2 as real and imaginary scalars (imaginary 0 for real tables)."""
    r0 = tl.load(m + 0 * C)
    r1 = tl.load(m + 1 * C)
    r2 = tl.load(m + 2 * C)
    r3 = tl.load(m + 3 * C)
    i0, i1, i2, i3 = r0 * 0, r1 * 0, r2 * 0, r3 * 0
    if C == 2:
        i0 = tl.load(m + 0 * C + 1)
        i1 = tl.load(m + 1 * C + 1)
        i2 = tl.load(m + 2 * C + 1)
        i3 = tl.load(m + 3 * C + 1)
    return r0, i0, r1, i1, r2, i2, r3, i3


@triton.jit
def _ld16(m, C: tl.constexpr):
    """A 4x4 as two (16,) tensors (real, imaginary), row-major, for per-element lookups."""
    j = tl.arange(0, 16)
    mr = tl.load(m + j * C)
    mi = mr * 0
    if C == 2:
        mi = tl.load(m + j * C + 1)
    return mr, mi


@triton.jit
def _gather(xr, xi, idx, C: tl.constexpr):
    pr = tl.gather(xr, idx, 0)
    pi = pr
    if C == 2:
        pi = tl.gather(xi, idx, 0)
    return pr, pi


@triton.jit
def _cmac(yr, yi, ar, ai, xr, xi, C: tl.constexpr):
    """``y + a * x`` (complex when ``C == 2``)."""
    yr = yr + ar * xr
    if C == 2:
        yr = yr - ai * xi
        yi = yi + ar * xi + ai * xr
    return yr, yi


@triton.jit
def _mix1(xr, xi, pr, pi, bit, m, C: tl.constexpr, ADJ: tl.constexpr):
    """One 2x2 (``U``, or ``U^H`` when ``ADJ``) on a bit: ``own * x + other * partner``."""
    m00r, m00i, m01r, m01i, m10r, m10i, m11r, m11i = _ld4(m, C)
    one = bit == 1
    ar = tl.where(one, m11r, m00r)
    ai = tl.where(one, m11i, m00i)
    if ADJ:  # (U^H)[r][c] = conj(U[c][r])
        cr = tl.where(one, m01r, m10r)
        ci = -tl.where(one, m01i, m10i)
        ai = -ai
    else:
        cr = tl.where(one, m10r, m01r)
        ci = tl.where(one, m10i, m01i)
    yr, yi = _cmac(xr * 0, xi * 0, ar, ai, xr, xi, C)
    return _cmac(yr, yi, cr, ci, pr, pi, C)


@triton.jit
def _coef2(mr, mi, r, c: tl.constexpr, ADJ: tl.constexpr):
    """Per element, entry ``(r, c)`` of a 4x4 ``U`` (``ADJ``: of ``U^H``, i.e. ``conj(U[c][r])``)."""
    if ADJ:
        idx = c * 4 + r
        return tl.gather(mr, idx, 0), -tl.gather(mi, idx, 0)
    else:
        idx = r * 4 + c
        return tl.gather(mr, idx, 0), tl.gather(mi, idx, 0)


@triton.jit
def _group(i, a, b, c: tl.constexpr):
    """Index of the member with local value ``c`` of ``i``'s group on bits ``(a, b)``."""
    ma = 1 << a
    mb = 1 << b
    return (i & ~(ma | mb)) | ((c >> 1) * ma) | ((c & 1) * mb)


@triton.jit
def _gate1(xr, xi, i, lb, m, C: tl.constexpr):
    pr, pi = _gather(xr, xi, i ^ (1 << lb), C)
    return _mix1(xr, xi, pr, pi, (i >> lb) & 1, m, C, False)


@triton.jit
def _gate2(xr, xi, i, a, b, m, C: tl.constexpr):
    r = ((i >> a) & 1) * 2 + ((i >> b) & 1)
    mr, mi = _ld16(m, C)
    yr = xr * 0
    yi = xi * 0
    for c in tl.static_range(4):
        pr, pi = _gather(xr, xi, _group(i, a, b, c), C)
        cr, ci = _coef2(mr, mi, r, c, False)
        yr, yi = _cmac(yr, yi, cr, ci, pr, pi, C)
    return yr, yi


@triton.jit
def _affine(k, const, cols, NQ: tl.constexpr):
    """``const ^ XOR of cols[j] over the set bits j of k`` (the source of each output index)."""
    src = k * 0 + const
    for j in tl.static_range(NQ):
        src = src ^ tl.where(((k >> j) & 1) == 1, tl.load(cols + j), 0)
    return src


@triton.jit
def _phase(xr, xi, ph, idx, CONJ: tl.constexpr, C: tl.constexpr):
    """``x * ph[idx]`` (``CONJ``: times its conjugate); ``ph`` holds unit phases."""
    qr = tl.load(ph + idx * C)
    if C == 2:
        qi = tl.load(ph + idx * C + 1)
        if CONJ:
            qi = -qi
        return xr * qr - xi * qi, xr * qi + xi * qr
    else:
        return xr * qr, xi


@triton.jit
def _tile_index(i, tile, positions, NQ: tl.constexpr, TB: tl.constexpr):
    """Global basis index of every tile element: tile bits from ``i``, the others from ``tile``."""
    if TB == NQ:
        k = i
    else:
        k = i * 0
        for j in tl.static_range(TB):
            k = k | (((i >> j) & 1) << tl.load(positions + j))
        for j in tl.static_range(NQ - TB):
            k = k | (((tile >> j) & 1) << tl.load(positions + TB + j))
    return k


@triton.jit
def _matrix(row, smp, shared, per_sample, rows_per_sample, size: tl.constexpr, C: tl.constexpr):
    """Pointer to the matrix an op row names (table 0 shared, 1 per-sample)."""
    r = tl.load(row + 4)
    if tl.load(row + 3) == 0:
        m = shared + r * size * C
    else:
        m = per_sample + (smp.to(tl.int64) * rows_per_sample + r) * size * C
    return m


@triton.jit
def _forward_op(xr, xi, i, row, smp, m1s, m1p, m2s, m2p, r1p, r2p, pconst, pcols, pphase, phase,
                NQ: tl.constexpr, C: tl.constexpr, GATE2: tl.constexpr, PERM: tl.constexpr):
    kind = tl.load(row)
    if kind == 0:
        xr, xi = _gate1(xr, xi, i, tl.load(row + 1), _matrix(row, smp, m1s, m1p, r1p, 4, C), C)
    if GATE2:  # noqa: SIM102 - compile-time flag around a run-time test: plans without 4x4s compile none
        if kind == 1:
            m = _matrix(row, smp, m2s, m2p, r2p, 16, C)
            xr, xi = _gate2(xr, xi, i, tl.load(row + 1), tl.load(row + 2), m, C)
    if PERM:  # noqa: SIM102
        if kind == 2:
            p = tl.load(row + 5)
            src = _affine(i, tl.load(pconst + p), pcols + p * NQ, NQ)
            xr, xi = _gather(xr, xi, src, C)
            prow = tl.load(pphase + p)
            if prow >= 0:
                xr, xi = _phase(xr, xi, phase + prow.to(tl.int64) * (C << NQ), i, False, C)
    return xr, xi


@triton.jit
def _load_state(ptr, base, idx, C: tl.constexpr):
    xr = tl.load(ptr + (base + idx) * C)
    xi = xr
    if C == 2:
        xi = tl.load(ptr + (base + idx) * C + 1)
    return xr, xi


@triton.jit
def _store_state(ptr, base, idx, xr, xi, C: tl.constexpr):
    tl.store(ptr + (base + idx) * C, xr)
    if C == 2:
        tl.store(ptr + (base + idx) * C + 1, xi)


@triton.jit
def forward_kernel(src, dst, ops, op_start, op_end, m1s, m1p, m2s, m2p, r1p, r2p,
                   pconst, pcols, pphase, phase, positions, load_perm, n_tiles,
                   NQ: tl.constexpr, TB: tl.constexpr, C: tl.constexpr, GATE2: tl.constexpr, PERM: tl.constexpr):
    """One pass: ``dst`` tile = ops(perm(``src``)); grid ``(B * n_tiles,)``."""
    pid = tl.program_id(0)
    smp = pid // n_tiles
    i = tl.arange(0, 1 << TB)
    k = _tile_index(i, pid % n_tiles, positions, NQ, TB)
    base = smp.to(tl.int64) << NQ
    if load_perm >= 0:
        xr, xi = _load_state(src, base, _affine(k, tl.load(pconst + load_perm), pcols + load_perm * NQ, NQ), C)
        prow = tl.load(pphase + load_perm)
        if prow >= 0:
            xr, xi = _phase(xr, xi, phase + prow.to(tl.int64) * (C << NQ), k, False, C)
    else:
        xr, xi = _load_state(src, base, k, C)
    for o in range(op_start, op_end):
        xr, xi = _forward_op(xr, xi, i, ops + o * OPW, smp, m1s, m1p, m2s, m2p, r1p, r2p, pconst, pcols, pphase,
                             phase, NQ, C, GATE2, PERM)
    _store_state(dst, base, k, xr, xi, C)


@triton.jit
def _store_cross(cross, dr, di, sel, C: tl.constexpr):
    # tl.reduce with tl.sum's combine rather than tl.sum itself: the standard library's jit functions
    # are compiled ones unless Triton's interpreter was on when Triton was imported, while the
    # interpreter recognises this combine (a numpy sum) and never calls it
    tl.store(cross, tl.reduce(tl.where(sel, dr, 0.0), 0, _SUM))
    if C == 2:
        tl.store(cross + 1, tl.reduce(tl.where(sel, di, 0.0), 0, _SUM))


@triton.jit
def _g_conj(gr, gi, sr, si, C: tl.constexpr):
    """``g * conj(s)``."""
    dr = gr * sr
    di = dr
    if C == 2:
        dr = dr + gi * si
        di = gi * sr - gr * si
    return dr, di


@triton.jit
def _gate1_adjoint(sr, si, gr, gi, i, lb, m, cross, C: tl.constexpr, GRAD: tl.constexpr):
    p = i ^ (1 << lb)
    bit = (i >> lb) & 1
    psr, psi = _gather(sr, si, p, C)
    pgr, pgi = _gather(gr, gi, p, C)
    if GRAD:
        one = bit == 1
        dr, di = _g_conj(gr, gi, sr, si, C)
        qr, qi = _g_conj(gr, gi, psr, psi, C)
        _store_cross(cross + 0 * C, dr, di, ~one, C)
        _store_cross(cross + 1 * C, qr, qi, ~one, C)
        _store_cross(cross + 2 * C, qr, qi, one, C)
        _store_cross(cross + 3 * C, dr, di, one, C)
    sr, si = _mix1(sr, si, psr, psi, bit, m, C, True)
    gr, gi = _mix1(gr, gi, pgr, pgi, bit, m, C, True)
    return sr, si, gr, gi


@triton.jit
def _gate2_adjoint(sr, si, gr, gi, i, a, b, m, cross, C: tl.constexpr, GRAD: tl.constexpr):
    r = ((i >> a) & 1) * 2 + ((i >> b) & 1)
    mr, mi = _ld16(m, C)
    nsr, nsi, ngr, ngi = sr * 0, si * 0, gr * 0, gi * 0
    for c in tl.static_range(4):
        idx = _group(i, a, b, c)
        psr, psi = _gather(sr, si, idx, C)
        pgr, pgi = _gather(gr, gi, idx, C)
        if GRAD:
            qr, qi = _g_conj(gr, gi, psr, psi, C)
            for rr in tl.static_range(4):
                _store_cross(cross + (rr * 4 + c) * C, qr, qi, r == rr, C)
        cr, ci = _coef2(mr, mi, r, c, True)
        nsr, nsi = _cmac(nsr, nsi, cr, ci, psr, psi, C)
        ngr, ngi = _cmac(ngr, ngi, cr, ci, pgr, pgi, C)
    return nsr, nsi, ngr, ngi


@triton.jit
def _perm_adjoint(sr, si, gr, gi, i, row, pconst, pcols, pphase, phase, NQ: tl.constexpr, C: tl.constexpr):
    """Undo an in-register permutation: gather through the inverse map, times the conjugate phase."""
    p = tl.load(row + 6)
    src = _affine(i, tl.load(pconst + p), pcols + p * NQ, NQ)
    sr, si = _gather(sr, si, src, C)
    gr, gi = _gather(gr, gi, src, C)
    prow = tl.load(pphase + p)
    if prow >= 0:
        ph = phase + prow.to(tl.int64) * (C << NQ)
        sr, si = _phase(sr, si, ph, src, True, C)
        gr, gi = _phase(gr, gi, ph, src, True, C)
    return sr, si, gr, gi


@triton.jit
def _adjoint_op(sr, si, gr, gi, i, row, smp, slot1, slot2, m1s, m1p, m2s, m2p, r1s, r1p, r2s, r2p,
                pconst, pcols, pphase, phase, NQ: tl.constexpr, C: tl.constexpr, GRAD: tl.constexpr,
                GATE2: tl.constexpr, PERM: tl.constexpr):
    kind = tl.load(row)
    tab = tl.load(row + 3)
    r = tl.load(row + 4)
    if kind == 0:
        m = _matrix(row, smp, m1s, m1p, r1p, 4, C)
        cross = slot1 + (r + tab * r1s) * 4 * C
        sr, si, gr, gi = _gate1_adjoint(sr, si, gr, gi, i, tl.load(row + 1), m, cross, C, GRAD)
    if GATE2:  # noqa: SIM102
        if kind == 1:
            m = _matrix(row, smp, m2s, m2p, r2p, 16, C)
            cross = slot2 + (r + tab * r2s) * 16 * C
            sr, si, gr, gi = _gate2_adjoint(sr, si, gr, gi, i, tl.load(row + 1), tl.load(row + 2), m, cross, C,
                                            GRAD)
    if PERM:  # noqa: SIM102
        if kind == 2:
            sr, si, gr, gi = _perm_adjoint(sr, si, gr, gi, i, row, pconst, pcols, pphase, phase, NQ, C)
    return sr, si, gr, gi


@triton.jit
def adjoint_kernel(psi_in, g_in, psi_out, g_out, cross1, cross2, ops, op_start, op_end,
                   m1s, m1p, m2s, m2p, r1s, r1p, r2s, r2p, pconst, pcols, pphase, phase, positions, load_perm,
                   n_tiles, NQ: tl.constexpr, TB: tl.constexpr, C: tl.constexpr, GRAD: tl.constexpr,
                   GATE2: tl.constexpr, PERM: tl.constexpr):
    """Undo one pass on ``psi`` and ``g``; per-program cross terms into ``cross1``/``cross2``."""
    pid = tl.program_id(0)
    smp = pid // n_tiles
    i = tl.arange(0, 1 << TB)
    k = _tile_index(i, pid % n_tiles, positions, NQ, TB)
    base = smp.to(tl.int64) << NQ
    sr, si = _load_state(psi_in, base, k, C)
    gr, gi = _load_state(g_in, base, k, C)
    slot1 = cross1 + pid.to(tl.int64) * (r1s + r1p) * 4 * C
    slot2 = cross2 + pid.to(tl.int64) * (r2s + r2p) * 16 * C
    for j in range(op_end - op_start):
        sr, si, gr, gi = _adjoint_op(sr, si, gr, gi, i, ops + (op_end - 1 - j) * OPW, smp, slot1, slot2,
                                     m1s, m1p, m2s, m2p, r1s, r1p, r2s, r2p, pconst, pcols, pphase, phase, NQ, C,
                                     GRAD, GATE2, PERM)
    if load_perm >= 0:  # the pass loaded x[k] = ph[k] y[src(k)]: scatter back y[src(k)] = conj(ph[k]) x[k]
        prow = tl.load(pphase + load_perm)
        if prow >= 0:
            ph = phase + prow.to(tl.int64) * (C << NQ)
            sr, si = _phase(sr, si, ph, k, True, C)
            gr, gi = _phase(gr, gi, ph, k, True, C)
        k = _affine(k, tl.load(pconst + load_perm), pcols + load_perm * NQ, NQ)
    _store_state(psi_out, base, k, sr, si, C)
    _store_state(g_out, base, k, gr, gi, C)
