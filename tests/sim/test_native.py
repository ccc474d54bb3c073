"""Tests of the optional native kernels (qtrain.sim._native) against plain torch references."""
from __future__ import annotations

import random

import pytest
import torch

nt = pytest.importorskip("qtrain.sim._native")
if not nt.AVAILABLE:  # pragma: no cover - depends on the build
    pytest.skip(f"native kernels unavailable: {nt.unavailable_reason}", allow_module_level=True)

DTYPES = [torch.float32, torch.float64, torch.complex64, torch.complex128]
ATOL = {torch.float32: 1e-5, torch.complex64: 1e-5, torch.float64: 1e-12, torch.complex128: 1e-12}


# --------------------------------------------------------------------------------------
# references
# --------------------------------------------------------------------------------------
def ref_layer(state, wires, mats, n):
    """Apply mats[(b,) i] to qubit wires[i] with einsum on the (B, 2, ..., 2) view."""
    B = state.shape[0]
    x = state.reshape((B,) + (2,) * n)
    for i, w in enumerate(wires):
        x = torch.movedim(x, 1 + w, -1)
        if mats.dim() == 3:
            x = torch.einsum("rc,b...c->b...r", mats[i], x)
        else:
            x = torch.einsum("brc,b...c->b...r", mats[:, i], x)
        x = torch.movedim(x, -1, 1 + w)
    return x.reshape(B, 1 << n)


def rand_state(B, n, dtype, gen):
    rdt = torch.float64
    x = torch.randn(B, 1 << n, dtype=rdt, generator=gen)
    if dtype.is_complex:
        x = torch.complex(x, torch.randn(B, 1 << n, dtype=rdt, generator=gen))
    x = x / x.abs().pow(2).sum(dim=1, keepdim=True).sqrt()
    return x.to(dtype)


def rand_unitaries(shape, dtype, gen):
    """Random 2x2 unitary (complex) / orthogonal (real) matrices of shape shape + (2, 2)."""
    z = torch.randn(*shape, 2, 2, dtype=torch.float64, generator=gen)
    if dtype.is_complex:
        z = torch.complex(z, torch.randn(*shape, 2, 2, dtype=torch.float64, generator=gen))
    q, r = torch.linalg.qr(z)
    d = torch.diagonal(r, dim1=-2, dim2=-1)
    q = q * (d / d.abs()).unsqueeze(-2)
    return q.to(dtype)


@pytest.fixture
def tuning():
    """Yield nt._set_tuning and restore the defaults afterwards."""
    saved = nt._set_tuning()
    yield nt._set_tuning
    nt._set_tuning(*saved)


def _cases(seed, n, k):
    rng = random.Random(seed)
    out = []
    for _ in range(k):
        nw = rng.randint(0, n)
        out.append(rng.sample(range(n), nw))
    out.append(list(range(n)))  # full layer
    return out


# --------------------------------------------------------------------------------------
# layer_apply_
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("n", range(1, 11))
@pytest.mark.parametrize("per_sample", [False, True], ids=["shared", "per_sample"])
def test_layer_apply(dtype, n, per_sample):
    gen = torch.Generator().manual_seed(1000 * n + 7 * DTYPES.index(dtype) + per_sample)
    for ci, wires in enumerate(_cases(n, n, 3)):
        B = (1, 3)[ci % 2]
        st = rand_state(B, n, dtype, gen)
        mats = rand_unitaries(((B,) if per_sample else ()) + (len(wires),), dtype, gen)
        if ci == 1 and not dtype.is_complex:  # also a non-unitary matrix
            mats = torch.randn(mats.shape, dtype=torch.float64, generator=gen).to(dtype)
        exp = ref_layer(st.to(torch.complex128 if dtype.is_complex else torch.float64), wires,
                        mats.to(torch.complex128 if dtype.is_complex else torch.float64), n)
        got = st.clone()
        nt.layer_apply_(got, wires, mats, nthreads=1 + ci % 2)
        torch.testing.assert_close(got.to(exp.dtype), exp, atol=ATOL[dtype], rtol=0)


# --------------------------------------------------------------------------------------
# layer_adjoint_
# --------------------------------------------------------------------------------------
def _check_adjoint(dtype, n, wires, B, per_sample, gen, nthreads=2):
    wdt = torch.complex128 if dtype.is_complex else torch.float64
    psi_in = rand_state(B, n, wdt, gen).requires_grad_(True)
    mats = rand_unitaries(((B,) if per_sample else ()) + (len(wires),), wdt, gen)
    mats = mats.to(dtype).to(wdt).requires_grad_(True)  # exactly representable in dtype
    w = rand_state(B, n, wdt, gen)
    out = ref_layer(psi_in, wires, mats, n)
    loss = (w.conj() * out).real.sum() if dtype.is_complex else (w * out).sum()
    loss.backward()
    psi = out.detach().to(dtype).contiguous()
    g = w.to(dtype).contiguous()
    cross = nt.layer_adjoint_(psi, g, wires, mats.detach().to(dtype), nthreads=nthreads)
    exp_shape = (B, len(wires), 2, 2) if per_sample else (len(wires), 2, 2)
    assert cross.shape == exp_shape and cross.dtype == dtype
    tol = 1e-4 if dtype in (torch.float32, torch.complex64) else 1e-11
    dm = cross.to(wdt) @ mats.detach()
    grad = mats.grad if mats.grad is not None else torch.zeros_like(mats)  # no wires: unused
    torch.testing.assert_close(dm, grad, atol=tol, rtol=0)
    torch.testing.assert_close(psi.to(wdt), psi_in.detach(), atol=tol, rtol=0)
    torch.testing.assert_close(g.to(wdt), psi_in.grad, atol=tol, rtol=0)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("n", range(1, 11))
@pytest.mark.parametrize("per_sample", [False, True], ids=["shared", "per_sample"])
def test_layer_adjoint(dtype, n, per_sample):
    gen = torch.Generator().manual_seed(2000 * n + 7 * DTYPES.index(dtype) + per_sample)
    for ci, wires in enumerate(_cases(n + 100, n, 3)):
        _check_adjoint(dtype, n, wires, (1, 3)[ci % 2], per_sample, gen, nthreads=1 + ci % 2)


# --------------------------------------------------------------------------------------
# blocking: force multi-pass plans (strided tiles, scalar tiles, tiny rows)
# --------------------------------------------------------------------------------------
TILINGS = [
    (256, 256, 64, 3, 2),  # f32: 64-element tiles, 16-element rows
    (128, 64, 16, 4, 3),  # tiny tiles/rows: scalar and memcpy paths
    (512, 512, 128, 1, 1),
    (2048, 1024, 256, 2, 3),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("tiling", range(len(TILINGS)))
def test_blocking_plans(dtype, tiling, tuning):
    tb, tba, rb, ka, kb = TILINGS[tiling]
    tuning(tb, tba, rb, ka, kb, 0)  # min_parallel_bytes=0: always split across threads
    gen = torch.Generator().manual_seed(31 + tiling)
    for n in (5, 7, 9, 11):
        for ci, wires in enumerate(_cases(n * 13 + tiling, n, 3)):
            B = (1, 2, 3)[ci % 3]
            per_sample = ci % 2 == 1
            st = rand_state(B, n, dtype, gen)
            mats = rand_unitaries(((B,) if per_sample else ()) + (len(wires),), dtype, gen)
            wdt = torch.complex128 if dtype.is_complex else torch.float64
            exp = ref_layer(st.to(wdt), wires, mats.to(wdt), n)
            got = st.clone()
            nt.layer_apply_(got, wires, mats, nthreads=2)
            torch.testing.assert_close(got.to(wdt), exp, atol=ATOL[dtype], rtol=0)
            _check_adjoint(dtype, n, wires, B, per_sample, gen, nthreads=2)


@pytest.mark.parametrize("dtype", [torch.float32, torch.complex64, torch.float64], ids=str)
def test_large_default_tiling(dtype):
    """n large enough for the default plan to use a contiguous and a strided pass."""
    gen = torch.Generator().manual_seed(5)
    for n, wires in ((14, list(range(14))), (15, [14, 0, 3, 9, 1]), (16, [0, 1, 2]), (16, [15, 2])):
        for nth in (1, 2):
            _check_adjoint(dtype, n, wires, 1, False, gen, nthreads=nth)
            st = rand_state(2, n, dtype, gen)
            mats = rand_unitaries((2, len(wires)), dtype, gen)
            wdt = torch.complex128 if dtype.is_complex else torch.float64
            exp = ref_layer(st.to(wdt), wires, mats.to(wdt), n)
            nt.layer_apply_(st, wires, mats, nthreads=nth)
            torch.testing.assert_close(st.to(wdt), exp, atol=ATOL[dtype], rtol=0)


def test_thread_count_invariance():
    gen = torch.Generator().manual_seed(3)
    st = rand_state(2, 13, torch.float32, gen)
    mats = rand_unitaries((13,), torch.float32, gen)
    outs = []
    for nth in (1, 2, 3, 4):
        x = st.clone()
        nt.layer_apply_(x, range(13), mats, nthreads=nth)
        outs.append(x)
    for x in outs[1:]:
        assert torch.equal(x, outs[0])


# --------------------------------------------------------------------------------------
# permute
# --------------------------------------------------------------------------------------
def cnot_chain_index(n):
    """Gather index of CNOT(0,1) CNOT(1,2) ... CNOT(n-2,n-1): new bit_q = XOR of old bits 0..q.

    With qubit q at bit n-1-q, the map old -> new is the Gray decoder, so the gather index
    (old index of each new index) is the Gray encoder: index[k] = k ^ (k >> 1).
    """
    k = torch.arange(1 << n, dtype=torch.int64)
    return k ^ (k >> 1)


def cnot_index(n, c, t):
    k = torch.arange(1 << n, dtype=torch.int64)
    cb, tb = n - 1 - c, n - 1 - t
    return k ^ (((k >> cb) & 1) << tb)


@pytest.mark.parametrize("n", [1, 2, 5, 9])
def test_cnot_chain_index_matches_gates(n):
    gen = torch.Generator().manual_seed(n)
    st = rand_state(2, n, torch.complex128, gen)
    x = st
    for q in range(n - 1):
        x = x[:, cnot_index(n, q, q + 1)]
    torch.testing.assert_close(st[:, cnot_chain_index(n)], x, atol=0, rtol=0)
    torch.testing.assert_close(nt.permute(st, cnot_chain_index(n)), x, atol=0, rtol=0)
    # basis-state check of the prefix-XOR rule
    for old in range(1 << n):
        bits = [(old >> (n - 1 - q)) & 1 for q in range(n)]
        new = 0
        acc = 0
        for q in range(n):
            acc ^= bits[q]
            new |= acc << (n - 1 - q)
        assert int(cnot_chain_index(n)[new]) == old


def _affine_index(n, c, cols):
    """index[k] = c ^ XOR_{j: bit j of k} cols[j] (int64, length 2**n)."""
    k = torch.arange(1 << n, dtype=torch.int64)
    idx = torch.full((1 << n,), c, dtype=torch.int64)
    for j, col in enumerate(cols):
        idx ^= ((k >> j) & 1) * col
    return idx


def _random_linear_index(n, rng):
    """A random invertible affine map (rejection sampling: a bijection of the 2**n indices)."""
    while True:
        idx = _affine_index(n, rng.randrange(1 << n), [rng.randrange(1 << n) for _ in range(n)])
        if torch.unique(idx).numel() == 1 << n:
            return idx


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8, 10, 13])
def test_permute(dtype, n):
    gen = torch.Generator().manual_seed(n)
    rng = random.Random(n)
    st = rand_state(3, n, dtype, gen)
    N = 1 << n
    k = torch.arange(N)
    indices = [
        cnot_chain_index(n),
        torch.randperm(N, generator=gen),
        torch.randint(0, N, (N,), generator=gen),  # not a bijection: plain gather
        _random_linear_index(n, rng),
        k ^ (N - 1),  # X on all qubits (affine)
        k.flip(0).contiguous(),
    ]
    if n >= 2:
        indices.append(cnot_index(n, n - 1, 0))  # low control, high target: non-local linear map
    for i, idx in enumerate(indices):
        for itype in (torch.int64, torch.int32):
            ix = idx.to(itype)
            exp = st[:, idx]
            for nth in (1, 2):
                assert torch.equal(nt.permute(st, ix, nthreads=nth), exp)
            out = torch.empty_like(st)
            r = nt.permute(st, ix, out=out)
            assert r is out and torch.equal(out, exp)
    assert nt.perm_plan(cnot_chain_index(n)).linear
    if n >= 5:  # every permutation of 4 elements is affine over GF(2)
        assert not nt.perm_plan(torch.randperm(N, generator=gen)).linear


@pytest.mark.parametrize("n", [1, 3, 6, 11])
def test_perm_plan_inverse(n):
    gen = torch.Generator().manual_seed(n)
    rng = random.Random(n)
    st = rand_state(2, n, torch.float32, gen)
    for idx in (cnot_chain_index(n), _random_linear_index(n, rng), torch.randperm(1 << n, generator=gen)):
        p = nt.perm_plan(idx)
        inv = p.inverse()
        assert torch.equal(nt.permute(nt.permute(st, p), inv), st)
        assert torch.equal(p.index_tensor(), idx)


def test_perm_plan_cache_invalidation():
    n = 6
    idx = cnot_chain_index(n)
    st = torch.randn(1, 1 << n)
    assert torch.equal(nt.permute(st, idx), st[:, idx])
    idx[:] = torch.randperm(1 << n)  # in-place change bumps the version counter
    assert torch.equal(nt.permute(st, idx), st[:, idx])
    assert not nt.perm_plan(idx).linear


@pytest.mark.parametrize("n", [1, 2, 5, 9, 13])
def test_affine_inverse_equals_argsort(n):
    """The GF(2) inverse (in C) against its pure-torch twin: the inverse of a gather map is its argsort."""
    rng = random.Random(300 + n)
    for _ in range(4):
        idx = _random_linear_index(n, rng)
        inv = nt.perm_plan(idx).inverse()
        assert inv.linear and inv.index is None
        assert torch.equal(inv.index_tensor(), torch.argsort(idx))


def test_inverse_of_a_singular_map_raises():
    singular = nt.PermPlan(3, True, 5, (1, 1, 4), None)  # two equal columns: not a bijection
    with pytest.raises(ValueError, match="permutation is not invertible"):
        singular.inverse()
    gather = nt.perm_plan(torch.tensor([0, 0, 1, 2, 3, 4, 5, 6]))
    with pytest.raises(ValueError, match="permutation is not invertible"):
        gather.inverse()


def test_python_constants_match_the_extension():
    d = nt.info()
    assert (d["max_qubits"], d["block_record"]) == (nt.MAX_QUBITS, nt.BLOCK_RECORD)


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------
_ST = torch.zeros(2, 8)
_M = torch.eye(2).expand(2, 2, 2).contiguous()
BAD_CALLS = [
    (lambda: nt.layer_apply_(_ST.to(torch.int32), [0, 1], _M),
     r"state must be float32/float64/complex64/complex128, got torch.int32"),
    (lambda: nt.layer_apply_(_ST, [0, 1], _M.double()), r"mats dtype torch.float64 does not match state dtype"),
    (lambda: nt.layer_apply_(torch.zeros(8, 2).t(), [0, 1], _M), r"state must be contiguous"),
    (lambda: nt.layer_apply_(_ST, [0, 3], _M), r"wire 3 out of range for 3 qubits"),
    (lambda: nt.layer_apply_(_ST, [0, -1], _M), r"wire -1 out of range for 3 qubits"),
    (lambda: nt.layer_apply_(_ST, [1, 1], _M), r"wire 1 given twice"),
    (lambda: nt.layer_apply_(_ST, [2, 0, 2], torch.zeros(3, 2, 2)), r"wire 2 given twice"),
    (lambda: nt.layer_apply_(_ST, [0, 1, 2, 0], torch.zeros(4, 2, 2)), r"4 wires given for a 3-qubit state"),
    (lambda: nt.layer_apply_(_ST, [0], _M), r"mats must have shape \(1, 2, 2\) or \(2, 1, 2, 2\), got \(2, 2, 2\)"),
    (lambda: nt.layer_apply_(_ST, [0, 1], torch.zeros(3, 2, 2, 2)), r"got \(3, 2, 2, 2\)"),
    (lambda: nt.layer_apply_(torch.zeros(2, 6), [0], _M[:1]), r"state.shape\[1\] must be a power of two, got 6"),
    (lambda: nt.layer_apply_(torch.zeros(8), [0], _M[:1]), r"state must have shape \(B, 2\*\*n\), got \(8,\)"),
    (lambda: nt.layer_apply_(torch.zeros(2, 8, dtype=torch.complex64).conj(), [0], _M[:1].cfloat()),
     r"state has a lazy conj/neg bit"),
    (lambda: nt.layer_adjoint_(_ST, torch.zeros(2, 8, dtype=torch.float64), [0, 1], _M),
     r"psi and g must have the same shape and dtype"),
    (lambda: nt.layer_adjoint_(_ST, torch.zeros(1, 8), [0, 1], _M), r"psi and g must have the same shape and dtype"),
    (lambda: nt.layer_adjoint_(_ST, _ST, [0, 1], _M), r"psi and g must not share memory"),
    (lambda: nt.permute(_ST, torch.arange(4)), r"index is for 2 qubits but state has 3"),
    (lambda: nt.permute(_ST, torch.arange(8).float()), r"index must be int64 or int32, got torch.float32"),
    (lambda: nt.permute(_ST, torch.tensor([0, 1, 2, 3, 4, 5, 6, 8])), r"index value 8 out of range \[0, 8\)"),
    (lambda: nt.permute(_ST, torch.tensor([0, 1, 2, -3, 4, 5, 6, 7], dtype=torch.int32)),
     r"index value -3 out of range \[0, 8\)"),
    (lambda: nt.permute(_ST, torch.arange(8), out=_ST), r"out must not overlap state"),
    (lambda: nt.permute(_ST, torch.arange(8), out=torch.empty(2, 8, dtype=torch.float64)), r"out must match state"),
]


@pytest.mark.parametrize("case", range(len(BAD_CALLS)))
def test_bad_inputs(case):
    call, match = BAD_CALLS[case]
    with pytest.raises(ValueError, match=match):
        call()


def test_empty_layers():
    st = torch.randn(2, 16)
    x = st.clone()
    nt.layer_apply_(x, [], torch.zeros(0, 2, 2))
    assert torch.equal(x, st)
    g = torch.randn(2, 16)
    cross = nt.layer_adjoint_(x, g, [], torch.zeros(0, 2, 2))
    assert cross.shape == (0, 2, 2)
    y = torch.zeros(0, 16)
    nt.layer_apply_(y, [1], torch.eye(2).unsqueeze(0))
    c = nt.layer_adjoint_(y, torch.zeros(0, 16), [1], torch.eye(2).unsqueeze(0))
    assert torch.equal(c, torch.zeros(1, 2, 2))


# --------------------------------------------------------------------------------------
# threading: coexistence with torch's OpenMP runtime, concurrent callers, fork
# --------------------------------------------------------------------------------------
def test_threads_coexist_with_torch():
    gen = torch.Generator().manual_seed(0)
    n = 16
    st = rand_state(1, n, torch.float32, gen)
    mats = rand_unitaries((n,), torch.float32, gen)
    ref = ref_layer(st.double(), list(range(n)), mats.double(), n)
    a = torch.randn(256, 256, generator=gen)
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        for _ in range(20):
            x = st.clone()
            b = a @ a  # torch's own parallel region, interleaved with ours
            nt.layer_apply_(x, range(n), mats, nthreads=2)
            c = torch.nn.functional.relu(b).sum()
            torch.testing.assert_close(x.double(), ref, atol=1e-5, rtol=0)
            assert torch.isfinite(c)
    finally:
        torch.set_num_threads(old)
    try:
        maps = open("/proc/self/maps").read()
    except OSError:  # pragma: no cover - not Linux
        return
    gomps = {line.split()[-1] for line in maps.splitlines() if "libgomp" in line}
    assert len(gomps) <= 1, f"several OpenMP runtimes loaded: {gomps}"


def test_concurrent_python_threads():
    """Kernels release the GIL; concurrent callers must not interfere (one uses the pool)."""
    import threading

    gen = torch.Generator().manual_seed(1)
    n = 15
    mats = rand_unitaries((n,), torch.float64, gen)
    states = [rand_state(2, n, torch.float64, gen) for _ in range(4)]
    refs = [ref_layer(s, list(range(n)), mats, n) for s in states]
    outs = [s.clone() for s in states]
    errors = []

    def work(i):
        try:
            for _ in range(3):
                x = states[i].clone()
                nt.layer_apply_(x, range(n), mats, nthreads=2)
                outs[i] = x
        except Exception as e:  # pragma: no cover
            errors.append(e)

    th = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    assert not errors
    for o, r in zip(outs, refs):
        torch.testing.assert_close(o, r, atol=1e-12, rtol=0)


def _fork_child(q):
    try:
        x = torch.ones(1, 1 << 14)
        nt.layer_apply_(x, [0, 5, 13], torch.eye(2).expand(3, 2, 2).contiguous(), nthreads=2)
        q.put(float(x.sum()))
    except Exception as e:  # pragma: no cover
        q.put(repr(e))


def test_fork_after_pool_started():
    import multiprocessing as mp

    if "fork" not in mp.get_all_start_methods():
        pytest.skip("no fork")
    x = torch.ones(1, 1 << 16)
    nt.layer_apply_(x, [0, 1], torch.eye(2).expand(2, 2, 2).contiguous(), nthreads=2)  # start helpers
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_fork_child, args=(q,))
    p.start()
    res = q.get(timeout=60)
    p.join(timeout=60)
    assert res == float(1 << 14)


# --------------------------------------------------------------------------------------
# fused layer + permutation
# --------------------------------------------------------------------------------------
def _index_zoo(n, gen, rng):
    N = 1 << n
    zoo = [("chain", cnot_chain_index(n)), ("linear", _random_linear_index(n, rng)),
           ("identity", torch.arange(N)), ("random", torch.randperm(N, generator=gen))]
    if n >= 2:
        zoo.append(("cnot_lo_hi", cnot_index(n, n - 1, 0)))
    return zoo


@pytest.mark.parametrize("fuse", [0, 1, 3])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 10, 13])
def test_fused_layer_permute(dtype, n, fuse, tuning):
    tuning(fuse=fuse)  # 0: separate steps; 1: forward fused; 3: adjoint fused too
    gen = torch.Generator().manual_seed(77 + n)
    rng = random.Random(n)
    wdt = torch.complex128 if dtype.is_complex else torch.float64
    for ci, wires in enumerate(_cases(n + 500, n, 2)):
        for name, idx in _index_zoo(n, gen, rng):
            B = 1 + ci % 2
            per_sample = ci % 2 == 1
            st = rand_state(B, n, dtype, gen)
            mats = rand_unitaries(((B,) if per_sample else ()) + (len(wires),), dtype, gen)
            exp = ref_layer(st.to(wdt), wires, mats.to(wdt), n)[:, idx]
            for nth in (1, 2):
                x = st.clone()
                out = nt.layer_apply_permute(x, wires, mats, idx, nthreads=nth)
                torch.testing.assert_close(out.to(wdt), exp, atol=ATOL[dtype], rtol=0, msg=name)
            # backward step of the same block: inverse permutation, then the adjoint
            inv = torch.argsort(idx) if name != "random" else idx
            psi_after = rand_state(B, n, dtype, gen)
            g_after = rand_state(B, n, dtype, gen)
            p_ref, g_ref = psi_after[:, inv].clone(), g_after[:, inv].clone()
            c_ref = nt.layer_adjoint_(p_ref, g_ref, wires, mats, nthreads=1)
            for nth in (1, 2):
                cross, p_out, g_out = nt.permute_layer_adjoint(psi_after, g_after, inv, wires, mats, nthreads=nth)
                tol = 1e-5 if dtype in (torch.float32, torch.complex64) else 1e-12
                torch.testing.assert_close(cross, c_ref, atol=tol, rtol=0, msg=name)
                torch.testing.assert_close(p_out, p_ref, atol=tol, rtol=0, msg=name)
                torch.testing.assert_close(g_out, g_ref, atol=tol, rtol=0, msg=name)


@pytest.mark.parametrize("dtype", [torch.float32, torch.complex128], ids=str)
@pytest.mark.parametrize("tiling", range(len(TILINGS)))
def test_fused_blocking_plans(dtype, tiling, tuning):
    tb, tba, rb, ka, kb = TILINGS[tiling]
    tuning(tb, tba, rb, ka, kb, 0, -1, 3)
    gen = torch.Generator().manual_seed(9 + tiling)
    wdt = torch.complex128 if dtype.is_complex else torch.float64
    for n in (6, 9, 11):
        idx = cnot_chain_index(n)
        inv = torch.argsort(idx)
        for wires in _cases(n, n, 2):
            st = rand_state(2, n, dtype, gen)
            mats = rand_unitaries((len(wires),), dtype, gen)
            exp = ref_layer(st.to(wdt), wires, mats.to(wdt), n)[:, idx]
            out = nt.layer_apply_permute(st.clone(), wires, mats, idx, nthreads=2)
            torch.testing.assert_close(out.to(wdt), exp, atol=ATOL[dtype], rtol=0)
            p_ref, g_ref = st[:, inv].clone(), exp.to(dtype)[:, inv].clone()
            c_ref = nt.layer_adjoint_(p_ref, g_ref, wires, mats, nthreads=1)
            cross, p_out, g_out = nt.permute_layer_adjoint(st, exp.to(dtype), inv, wires, mats, nthreads=2)
            tol = 1e-5 if dtype == torch.float32 else 1e-12
            torch.testing.assert_close(cross, c_ref, atol=tol, rtol=0)
            torch.testing.assert_close(p_out, p_ref, atol=tol, rtol=0)
            torch.testing.assert_close(g_out, g_ref, atol=tol, rtol=0)


def test_fused_bad_inputs():
    st = torch.zeros(1, 16)
    m = torch.eye(2).expand(4, 2, 2).contiguous()
    idx = cnot_chain_index(4)
    with pytest.raises(ValueError, match="out must not overlap state"):
        nt.layer_apply_permute(st, range(4), m, idx, out=st)
    with pytest.raises(ValueError, match="index is for 3 qubits but state has 4"):
        nt.layer_apply_permute(st, range(4), m, cnot_chain_index(3))
    with pytest.raises(ValueError, match="psi_out and g_out must not overlap each other, psi or g"):
        nt.permute_layer_adjoint(st, st.clone(), idx, range(4), m, psi_out=st)
    with pytest.raises(ValueError, match="psi and g must have the same shape and dtype"):
        nt.permute_layer_adjoint(st, torch.zeros(1, 16, dtype=torch.float64), idx, range(4), m)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_factored_and_fallback_paths_agree(dtype, tuning):
    """Special matrices: zero rows, singular, swaps, diagonal; factored kernels on and off."""
    gen = torch.Generator().manual_seed(4)
    n = 11
    specials = [
        [[0.0, 1.0], [1.0, 0.0]],  # X: partner pivots
        [[1.0, 0.0], [0.0, -1.0]],  # Z
        [[1.0, 1.0], [0.0, 0.0]],  # zero row
        [[0.0, 1.0], [0.0, 1.0]],  # neither form: unfactored fallback
        [[1.0, 1.0], [1.0, 0.0]],
        [[0.0, 0.0], [0.0, 0.0]],
        [[3.0, -2.0], [0.5, 0.25]],
    ]
    wdt = torch.complex128 if dtype.is_complex else torch.float64
    for fac in (0, 1):
        tuning(factored=fac)
        for sp in specials:
            mats = torch.tensor([sp] * 4, dtype=wdt)
            mats[1] = rand_unitaries((), wdt, gen)
            mats = mats.to(dtype)
            wires = [0, 3, 9, 10]
            st = rand_state(2, n, dtype, gen)
            exp = ref_layer(st.to(wdt), wires, mats.to(wdt), n)
            got = st.clone()
            nt.layer_apply_(got, wires, mats)
            torch.testing.assert_close(got.to(wdt), exp, atol=10 * ATOL[dtype], rtol=0)
        _check_adjoint(dtype, n, list(range(n)), 2, False, gen)


# --------------------------------------------------------------------------------------
# gate programs
# --------------------------------------------------------------------------------------
def _unitary(d, dtype, gen):
    """A random d x d unitary (orthogonal for real dtypes)."""
    cdt = torch.complex128 if dtype.is_complex else torch.float64
    q, _ = torch.linalg.qr(torch.randn(d, d, dtype=cdt, generator=gen))
    return q.to(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gate_program_forward_matches_torch_and_threads(dtype):
    """Shared / per-sample 1q and 2q matrices, a controlled op; 1 and 2 threads give the same state."""
    gen = torch.Generator().manual_seed(3)
    n, B = 5, 9
    sh1 = torch.stack([_unitary(2, dtype, gen) for _ in range(3)])
    ps1 = torch.stack([torch.stack([_unitary(2, dtype, gen) for _ in range(2)]) for _ in range(B)])
    sh2 = torch.stack([_unitary(4, dtype, gen) for _ in range(2)])
    sh2[1, :2, :] = 0
    sh2[1, :, :2] = 0
    sh2[1, 0, 0] = sh2[1, 1, 1] = 1
    sh2[1, 2:, 2:] = _unitary(2, dtype, gen)  # diag(I, U)
    ops = torch.tensor([[0, 1, 0, 0], [1, 3, 0, 1], [2, 4, 0, 0], [2 + 8, 2, 4, 1], [0, 0, 0, 2],
                        [1, 2, 0, 0], [2, 1, 3, 0]], dtype=torch.int32)
    s0 = rand_state(B, n, dtype, gen)
    ref = s0.clone()
    for t, w0, w1, r in ops.tolist():
        mat = sh1[r] if t == 0 else ps1[:, r] if t == 1 else sh2[r]
        if t in (0, 1):
            ref = ref_layer(ref, [w0], mat[None] if mat.dim() == 2 else mat[:, None], n)
        else:
            x = torch.movedim(ref.reshape((B,) + (2,) * n), (1 + w0, 1 + w1), (-2, -1))
            x = torch.einsum("rc,b...c->b...r", mat, x.reshape(*x.shape[:-2], 4)).reshape(x.shape)
            ref = torch.movedim(x, (-2, -1), (1 + w0, 1 + w1)).reshape(B, -1)
    tables = [sh1, ps1, sh2, None, None]
    for nth in (1, 2):
        s = s0.clone()
        nt.prog_forward(s, ops, tables, nthreads=nth)
        torch.testing.assert_close(s, ref, atol=ATOL[dtype], rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gate_program_adjoint_gradients_equal_autograd(dtype):
    gen = torch.Generator().manual_seed(4)
    n, B = 4, 6
    sh1 = torch.stack([_unitary(2, dtype, gen) for _ in range(2)])
    ps2 = torch.stack([_unitary(4, dtype, gen)[None] for _ in range(B)])
    ops = torch.tensor([[0, 0, 0, 0], [3, 1, 3, 0], [0, 2, 0, 1], [3, 0, 2, 0]], dtype=torch.int32)
    s0 = rand_state(B, n, dtype, gen)

    def run(a, b):
        x = s0.reshape((B,) + (2,) * n)
        for t, w0, w1, r in ops.tolist():
            if t == 0:
                x = torch.movedim(torch.einsum("rc,b...c->b...r", a[r], torch.movedim(x, 1 + w0, -1)), -1, 1 + w0)
            else:
                y = torch.movedim(x, (1 + w0, 1 + w1), (-2, -1))
                y = torch.einsum("brc,b...c->b...r", b[:, r], y.reshape(*y.shape[:-2], 4)).reshape(y.shape)
                x = torch.movedim(y, (-2, -1), (1 + w0, 1 + w1))
        return x.reshape(B, -1)

    a, b = sh1.clone().requires_grad_(), ps2.clone().requires_grad_()
    out = run(a, b)
    w = torch.randn(out.shape, dtype=out.dtype, generator=gen)
    (out * w.conj()).real.sum().backward() if dtype.is_complex else (out * w).sum().backward()
    psi, g = out.detach().clone(), w.clone()
    grads = [torch.empty_like(sh1), None, None, torch.zeros_like(ps2)]
    nt.prog_adjoint(psi, g, ops, [sh1, None, None, ps2, None], grads)
    tol = 1e-4 if dtype in (torch.float32, torch.complex64) else 1e-10
    torch.testing.assert_close(psi, s0, atol=tol, rtol=0)  # undone back to the input state
    torch.testing.assert_close(grads[0], a.grad, atol=tol, rtol=0)
    torch.testing.assert_close(grads[3], b.grad, atol=tol, rtol=0)


def test_gate_program_rejects_bad_ops():
    s = torch.zeros(1, 8, dtype=torch.float32)
    s[0, 0] = 1
    sh1 = torch.eye(2).expand(2, 2, 2).contiguous()
    with pytest.raises(ValueError, match=r"gate program: op 0 \(0, 3, 0, 0\) is invalid"):
        nt.prog_forward(s, torch.tensor([[0, 3, 0, 0]], dtype=torch.int32), [sh1, None, None, None, None])
    with pytest.raises(ValueError, match=r"gate program: op 1 \(0, 0, 0, 2\) is invalid"):
        nt.prog_forward(s, torch.tensor([[0, 0, 0, 1], [0, 0, 0, 2]], dtype=torch.int32),
                        [sh1, None, None, None, None])
    with pytest.raises(ValueError, match=r"gate program: op 0 \(2, 1, 1, 0\) is invalid"):  # same wire twice
        nt.prog_forward(s, torch.tensor([[2, 1, 1, 0]], dtype=torch.int32),
                        [sh1, None, torch.eye(4)[None], None, None])
    with pytest.raises(ValueError, match=r"tables\[0\] has shape \(2, 4, 4\), expected \(2, 2, 2\)"):
        ops = torch.tensor([[0, 0, 0, 0]], dtype=torch.int32)
        nt.prog_forward(s, ops, [torch.zeros(2, 4, 4), None, None, None, None])
    with pytest.raises(ValueError, match="ops must be an int32 tensor of shape"):
        nt.prog_forward(s, torch.tensor([[0, 0, 0, 0]]), [sh1, None, None, None, None])


def test_gate_program_adjoint_is_thread_count_invariant():
    """Large enough to split the batch over 2 threads: shared gradients are summed over slots."""
    gen = torch.Generator().manual_seed(5)
    n, B, dtype = 10, 48, torch.complex128
    sh1 = torch.stack([_unitary(2, dtype, gen) for _ in range(n)])
    sh2 = torch.stack([_unitary(4, dtype, gen) for _ in range(n - 1)])
    ops = torch.tensor([[0, q, 0, q] for q in range(n)] + [[2, q, q + 1, q] for q in range(n - 1)], dtype=torch.int32)
    psi0, g0 = rand_state(B, n, dtype, gen), rand_state(B, n, dtype, gen)
    out = []
    for nth in (1, 2):
        psi, g = psi0.clone(), g0.clone()
        grads = [torch.empty_like(sh1), None, torch.empty_like(sh2), None]
        nt.prog_adjoint(psi, g, ops, [sh1, None, sh2, None, None], grads, nthreads=nth)
        out.append((psi, g, grads[0], grads[2]))
    for a, b in zip(*out):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


# --------------------------------------------------------------------------------------
# block programs
# --------------------------------------------------------------------------------------
def _block_program(n, nblocks, dtype, gen, rng):
    """Random block program: forward and adjoint records, packed matrices, and the blocks as
    (wires, gather index or None, first matrix row) for the torch twin."""
    fwd, inv, mats, blocks, off = [], [], [], [], 0
    for b in range(nblocks):
        kind = (3, 1, 2)[b % 3]
        wires = rng.sample(range(n), rng.randint(1, n)) if kind & 1 else []
        idx = _random_linear_index(n, rng) if kind & 2 else None
        for out, index in ((fwd, idx), (inv, None if idx is None else torch.argsort(idx))):
            r = [0] * nt.BLOCK_RECORD
            r[0], r[1], r[2] = kind, len(wires), off
            r[4:4 + len(wires)] = [n - 1 - w for w in wires]
            if index is not None:
                plan = nt.perm_plan(index)
                r[3] = plan.const
                r[4 + nt.MAX_QUBITS:4 + nt.MAX_QUBITS + n] = list(plan.cols)
            out.append(r)
        mats.append(rand_unitaries((len(wires),), dtype, gen))
        blocks.append((wires, idx, off))
        off += len(wires)
    return torch.tensor(fwd, dtype=torch.int64), torch.tensor(inv, dtype=torch.int64), torch.cat(mats), blocks


def _ref_blocks(x, blocks, mats, n):
    for wires, idx, off in blocks:
        if wires:
            x = ref_layer(x, wires, mats[off:off + len(wires)], n)
        if idx is not None:
            x = x[:, idx]
    return x


@pytest.mark.parametrize("fuse", [0, 1])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("n", [2, 7, 14])
def test_block_program_matches_torch(n, dtype, fuse, tuning):
    """blocks_forward against the torch twin; blocks_adjoint against torch autograd."""
    tuning(fuse=fuse)  # 1: layer + permutation blocks fused into one sweep
    gen = torch.Generator().manual_seed(40 + n)
    rng = random.Random(n)
    wdt = torch.complex128 if dtype.is_complex else torch.float64
    tol = 1e-4 if dtype in (torch.float32, torch.complex64) else 1e-11
    fwd, inv, mats, blocks = _block_program(n, 6, dtype, gen, rng)
    psi_in = rand_state(2, n, dtype, gen).to(wdt).requires_grad_(True)  # exactly representable in dtype
    mats_w = mats.to(wdt).requires_grad_(True)
    out = _ref_blocks(psi_in, blocks, mats_w, n)
    w = rand_state(2, n, wdt, gen)
    ((w.conj() * out).real.sum() if dtype.is_complex else (w * out).sum()).backward()
    for nth in (1, 2):
        st, spare = psi_in.detach().to(dtype).clone(), torch.empty(2, 1 << n, dtype=dtype)
        which = nt.blocks_forward(st, spare, fwd, mats, nthreads=nth)
        torch.testing.assert_close((spare if which else st).to(wdt), out.detach(), atol=tol, rtol=0)
        psi, g = out.detach().to(dtype).clone(), w.to(dtype).clone()
        p2, g2, cross = torch.empty_like(psi), torch.empty_like(psi), torch.empty_like(mats)
        which = nt.blocks_adjoint(psi, g, p2, g2, inv, mats, cross, nthreads=nth)
        torch.testing.assert_close((p2 if which else psi).to(wdt), psi_in.detach(), atol=tol, rtol=0)
        torch.testing.assert_close((g2 if which else g).to(wdt), psi_in.grad, atol=tol, rtol=0)
        torch.testing.assert_close(cross.to(wdt) @ mats_w.detach(), mats_w.grad, atol=tol, rtol=0)


def test_block_program_rejects_bad_records():
    st, spare = torch.zeros(1, 8), torch.zeros(1, 8)
    mats = torch.eye(2).expand(2, 2, 2).contiguous()
    good = [1, 2, 0, 0] + [0, 1] + [0] * (nt.BLOCK_RECORD - 6)
    for bad, block in (([4] + good[1:], 0), (good[:4] + [1, 1] + good[6:], 1), (good[:2] + [1] + good[3:], 1)):
        desc = torch.tensor([good, bad] if block else [bad, good], dtype=torch.int64)
        with pytest.raises(ValueError, match=rf"blocks_forward: block {block} is invalid"):
            nt.blocks_forward(st, spare, desc, mats)
        with pytest.raises(ValueError, match=rf"blocks_adjoint: block {block} is invalid"):
            nt.blocks_adjoint(st, st.clone(), spare, spare.clone(), desc, mats, torch.empty_like(mats))
    with pytest.raises(ValueError, match=r"desc must be a contiguous int64 tensor of shape \(nblocks, 100\)"):
        nt.blocks_forward(st, spare, torch.zeros(1, 99, dtype=torch.int64), mats)
