"""Benchmark of the native kernels (qtrain.sim._native) on Quantum-Train style circuits.

Workloads (state (B, 2**n), batch B):
  ry_cnot   n qubits x L blocks; block = RY on every qubit, then CNOT(0,1) ... CNOT(n-2,n-1)
  u3_cnot   same with a U3 (complex) gate on every qubit

Timed (median of --reps runs after one warm-up):
  native  forward  : per block  layer_apply_  +  permute (CNOT chain as one gather)
          backward : per block  permute psi and g by the inverse map  +  layer_adjoint_
                     (+ cross @ M and the chain rule to the angles, done in torch)
  torch   forward  : per block  Kronecker-group GEMMs (groups of <= 5 qubits) + index_select,
          backward : torch autograd of the same graph

Usage:  python benchmarks/speed/bench_native.py [--quick] [--reps 5] [--threads 1 2]
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time

import torch

try:
    from qtrain.sim import _native as nt
except Exception:  # pragma: no cover - running from a checkout without install
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "src"))
    from qtrain.sim import _native as nt


# ------------------------------------------------------------------------------------------
# circuit pieces
# ------------------------------------------------------------------------------------------
def cnot_chain_index(n: int) -> torch.Tensor:
    """Gather index of CNOT(0,1)...CNOT(n-2,n-1) (qubit 0 = MSB).

    The chain maps basis |x> to |y> with y_q = x_0 ^ ... ^ x_q (prefix XOR from the top bit),
    i.e. y = graydecode(x); hence out[y] = in[x] with x = grayencode(y) = y ^ (y >> 1).
    """
    k = torch.arange(1 << n, dtype=torch.int64)
    return k ^ (k >> 1)


def cnot_index(n: int, c: int, t: int) -> torch.Tensor:
    k = torch.arange(1 << n, dtype=torch.int64)
    return k ^ (((k >> (n - 1 - c)) & 1) << (n - 1 - t))


def verify_chain_index(n: int) -> None:
    x = torch.randn(1, 1 << n, dtype=torch.float64)
    y = x
    for q in range(n - 1):
        y = y[:, cnot_index(n, q, q + 1)]
    assert torch.equal(x[:, cnot_chain_index(n)], y), "prefix-XOR index does not match the CNOTs"


def ry_mats(theta: torch.Tensor) -> torch.Tensor:
    """theta (..., n) -> (..., n, 2, 2) real RY matrices."""
    c, s = torch.cos(theta / 2), torch.sin(theta / 2)
    return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)


def u3_mats(p: torch.Tensor) -> torch.Tensor:
    """p (..., n, 3) -> (..., n, 2, 2) complex U3(theta, phi, lam) matrices."""
    th, ph, la = p[..., 0], p[..., 1], p[..., 2]
    c, s = torch.cos(th / 2), torch.sin(th / 2)
    e = lambda a: torch.polar(torch.ones_like(a), a)  # noqa: E731
    m00 = torch.complex(c, torch.zeros_like(c))
    m01 = -e(la) * s
    m10 = e(ph) * s
    m11 = e(ph + la) * c
    return torch.stack([torch.stack([m00, m01], -1), torch.stack([m10, m11], -1)], -2)


# ------------------------------------------------------------------------------------------
# native implementation (forward + adjoint backward)
# ------------------------------------------------------------------------------------------
class NativeRunner:
    """fused=True uses layer_apply_permute / permute_layer_adjoint (one sweep fewer per
    layer); fused=False calls layer_apply_ / permute / layer_adjoint_ separately."""

    def __init__(self, n, blocks, B, dtype, kind, nthreads, fused=True):
        self.n, self.L, self.B, self.dtype, self.kind, self.nth = n, blocks, B, dtype, kind, nthreads
        self.fused = fused
        self.wires = list(range(n))
        self.plan = nt.perm_plan(cnot_chain_index(n))
        self.inv = self.plan.inverse()
        self.bufs = [torch.empty(B, 1 << n, dtype=dtype) for _ in range(4)]

    def mats(self, params):
        m = ry_mats(params) if self.kind == "ry" else u3_mats(params)
        return m.to(self.dtype).contiguous()

    def forward(self, mats):
        st, buf = self.bufs[0], self.bufs[1]
        st.zero_()
        st[:, 0] = 1
        for b in range(self.L):
            if self.fused:
                nt.layer_apply_permute(st, self.wires, mats[b], self.plan, out=buf, nthreads=self.nth)
            else:
                nt.layer_apply_(st, self.wires, mats[b], self.nth)
                nt.permute(st, self.plan, out=buf, nthreads=self.nth)
            st, buf = buf, st
        return st

    def backward(self, psi, g, mats):
        """psi: final state, g: dL/d conj(psi). Returns dL/dM for every block, (L, n, 2, 2)."""
        p2, g2 = self.bufs[2], self.bufs[3]
        if psi.data_ptr() == p2.data_ptr() or g.data_ptr() == g2.data_ptr():
            p2, g2 = self.bufs[0], self.bufs[1]
        crosses = [None] * self.L
        for b in reversed(range(self.L)):
            if self.fused:
                crosses[b] = nt.permute_layer_adjoint(
                    psi, g, self.inv, self.wires, mats[b], psi_out=p2, g_out=g2, nthreads=self.nth
                )[0]
                psi, p2, g, g2 = p2, psi, g2, g
            else:
                nt.permute(psi, self.inv, out=p2, nthreads=self.nth)
                nt.permute(g, self.inv, out=g2, nthreads=self.nth)
                psi, p2, g, g2 = p2, psi, g2, g
                crosses[b] = nt.layer_adjoint_(psi, g, self.wires, mats[b], self.nth)
        cross = torch.stack(crosses)
        return cross @ mats


# ------------------------------------------------------------------------------------------
# torch reference: Kronecker-group GEMMs + index_select, autograd backward
# ------------------------------------------------------------------------------------------
def kron_groups(n, gmax=5):
    ng = math.ceil(n / gmax)
    sizes = [n // ng + (1 if i < n % ng else 0) for i in range(ng)]
    out, q = [], 0
    for s in sizes:
        out.append(list(range(q, q + s)))
        q += s
    return out


def torch_layer(st, mats, groups, n):
    """Apply mats[i] to qubit i for all i, as one GEMM per group of consecutive qubits."""
    B = st.shape[0]
    for grp in groups:
        k = mats[grp[0]]
        for q in grp[1:]:
            k = torch.kron(k, mats[q])
        a = 1 << grp[0]
        gdim = 1 << len(grp)
        rest = 1 << (n - grp[-1] - 1)
        x = st.reshape(B * a, gdim, rest)
        st = torch.matmul(k, x).reshape(B, 1 << n)
    return st


def torch_forward(params, n, L, B, dtype, kind, index, groups):
    mats = (ry_mats(params) if kind == "ry" else u3_mats(params)).to(dtype)
    st = torch.zeros(B, 1 << n, dtype=dtype)
    st[:, 0] = 1
    for b in range(L):
        st = torch_layer(st, mats[b], groups, n)
        st = st.index_select(1, index)
    return st


# ------------------------------------------------------------------------------------------
def make_params(n, L, kind, gen):
    if kind == "ry":
        return torch.rand(L, n, generator=gen, dtype=torch.float64) * 2 * math.pi
    return torch.rand(L, n, 3, generator=gen, dtype=torch.float64) * 2 * math.pi


def loss_weights(B, n, dtype, gen):
    w = torch.randn(B, 1 << n, generator=gen, dtype=torch.float64)
    if dtype.is_complex:
        w = torch.complex(w, torch.randn(B, 1 << n, generator=gen, dtype=torch.float64))
    return w.to(dtype)


def check_gradients(kind, dtype, n=8, L=3, B=2):
    """Native adjoint gradients vs torch autograd (small size)."""
    gen = torch.Generator().manual_seed(0)
    p = make_params(n, L, kind, gen).requires_grad_(True)
    w = loss_weights(B, n, torch.complex128 if dtype.is_complex else torch.float64, gen)
    index, groups = cnot_chain_index(n), kron_groups(n)
    out = torch_forward(p, n, L, B, torch.complex128 if dtype.is_complex else torch.float64, kind, index, groups)
    loss = (w.conj() * out).real.sum() if dtype.is_complex else (w * out).sum()
    loss.backward()
    r = NativeRunner(n, L, B, dtype, kind, 1)
    pm = p.detach().clone().requires_grad_(True)
    mats = (ry_mats(pm) if kind == "ry" else u3_mats(pm))
    psi = r.forward(mats.detach().to(dtype).contiguous())
    torch.testing.assert_close(psi.to(out.dtype), out.detach(), atol=1e-5, rtol=0)
    dm = r.backward(psi.clone(), w.to(dtype).contiguous(), mats.detach().to(dtype).contiguous())
    mats.backward(dm.to(mats.dtype))  # chain rule M(params) -> params
    torch.testing.assert_close(pm.grad, p.grad, atol=1e-4, rtol=1e-4)


def probe_parallelism(seconds=0.3):
    """How many cores this process actually gets right now: run the same single-threaded
    native kernel in 1 and then 2 Python threads (the GIL is released) and compare throughput.
    ~2.0 on an idle 2-core machine; ~1.0 when other processes occupy the cores."""
    import threading

    x = [torch.randn(1, 1 << 16) for _ in range(2)]
    m = torch.eye(2).expand(16, 2, 2).contiguous()

    def spin(i, out, stop):
        c = 0
        while not stop[0]:
            nt.layer_apply_(x[i], range(16), m, 1)
            c += 1
        out[i] = c

    rates = []
    for k in (1, 2):
        out, stop = [0, 0], [False]
        th = [threading.Thread(target=spin, args=(i, out, stop)) for i in range(k)]
        t0 = time.perf_counter()
        for t in th:
            t.start()
        time.sleep(seconds)
        stop[0] = True
        for t in th:
            t.join()
        rates.append(sum(out) / (time.perf_counter() - t0))
    return rates[1] / rates[0]


def timeit(fn, reps, with_min=False):
    fn()  # warm-up
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    med = statistics.median(ts) * 1e3
    return (med, min(ts) * 1e3) if with_min else med


def bench(kind, n, L, B, dtype, nthreads, reps, torch_ref=True):
    gen = torch.Generator().manual_seed(1)
    params = make_params(n, L, kind, gen)
    w = loss_weights(B, n, dtype, gen)
    old = torch.get_num_threads()
    torch.set_num_threads(nthreads)
    try:
        r = NativeRunner(n, L, B, dtype, kind, nthreads)
        mats = r.mats(params)
        res = {}
        state = {}

        def fwd():
            state["psi"] = r.forward(mats)

        def bwd():
            r.backward(state["psi"].clone(), w.clone(), mats)

        def both():
            t0 = time.perf_counter()
            psi = r.forward(mats)
            t1 = time.perf_counter()
            r.backward(psi, w.clone(), mats)
            t2 = time.perf_counter()
            both.parts.append((t1 - t0, t2 - t1))

        both.parts = []
        res["native"], res["native_min"] = timeit(both, reps, with_min=True)
        parts = both.parts[1:]
        res["native_fwd"] = statistics.median(p[0] for p in parts) * 1e3
        res["native_bwd"] = statistics.median(p[1] for p in parts) * 1e3
        if torch_ref:
            index, groups = cnot_chain_index(n), kron_groups(n)
            p = params.clone().requires_grad_(True)

            def tref():
                p.grad = None
                out = torch_forward(p, n, L, B, dtype, kind, index, groups)
                loss = (w.conj() * out).real.sum() if dtype.is_complex else (w * out).sum()
                loss.backward()

            res["torch"] = timeit(tref, reps)
        return res
    finally:
        torch.set_num_threads(old)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--quick", action="store_true", help="skip the n=19 torch reference")
    ap.add_argument("--no-torch", action="store_true", help="skip all torch references")
    args = ap.parse_args(argv)
    if not nt.AVAILABLE:
        print(f"native kernels unavailable: {nt.unavailable_reason}")
        return 1
    print("native:", nt.info())
    print(f"torch {torch.__version__}, cpu count {os.cpu_count()}, load average "
          f"{' '.join(open('/proc/loadavg').read().split()[:3]) if os.path.exists('/proc/loadavg') else '?'}")
    print(f"effective parallelism (2 threads vs 1, same kernel): {probe_parallelism():.2f}x")
    for n in (3, 8, 13, 19):
        verify_chain_index(n)
    check_gradients("ry", torch.float32)
    check_gradients("u3", torch.complex64)
    check_gradients("ry", torch.float64, B=1)
    print("prefix-XOR CNOT-chain index verified; native adjoint gradients match torch autograd\n")

    workloads = [
        ("ry_cnot", "ry", 19, 95, 1, torch.float32, not (args.quick or args.no_torch)),
        ("ry_cnot", "ry", 13, 16, 1, torch.float32, not args.no_torch),
        ("u3_cnot", "u3", 9, 16, 1, torch.complex64, not args.no_torch),
        ("u3_cnot", "u3", 9, 16, 64, torch.complex64, not args.no_torch),
    ]
    print("times: median of --reps runs after a warm-up (native min in brackets); fwd/bwd: medians")
    hdr = (f"{'workload':10s} {'n':>3s} {'L':>3s} {'B':>3s} {'dtype':10s} {'thr':>3s} "
           f"{'fwd ms':>8s} {'bwd ms':>8s} {'native ms':>9s} {'(min)':>8s} {'torch ms':>9s} {'speedup':>7s}")
    print(hdr)
    print("-" * len(hdr))
    for name, kind, n, L, B, dtype, tref in workloads:
        for th in args.threads:
            if th > 1:
                print(f"  (effective parallelism now: {probe_parallelism(0.2):.2f}x)", flush=True)
            r = bench(kind, n, L, B, dtype, th, args.reps, torch_ref=tref)
            tt = r.get("torch")
            print(
                f"{name:10s} {n:3d} {L:3d} {B:3d} {str(dtype).replace('torch.', ''):10s} {th:3d} "
                f"{r['native_fwd']:8.1f} {r['native_bwd']:8.1f} {r['native']:9.1f} ({r['native_min']:6.1f}) "
                + (f"{tt:9.1f} {tt / r['native']:6.1f}x" if tt else f"{'-':>9s} {'-':>7s}"),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
