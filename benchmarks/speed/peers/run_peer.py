#!/usr/bin/env python
"""Standalone peer-simulator benchmark runner.

Runs under a peer's own virtualenv (see ``benchmarks/speed/setup_peers.sh``); it never
imports qtrain.  For one (peer, ansatz, n, blocks) it

1. builds the circuit in the peer library from a flat parameter vector,
2. writes the probabilities of all 2**n basis states (float64 ``.npy``, qubit 0 =
   MOST significant bit of the basis index),
3. times, after warm-up, the forward pass alone and forward+backward of
   ``loss = sum(probs * w)`` w.r.t. every circuit parameter,
4. writes a JSON result.

Circuit definitions (identical to qtrain's):

* ``ry_cnot``: per block b: RY(params[b*n+q]) on every qubit q, then
  CNOT(0,1), CNOT(1,2), ..., CNOT(n-2,n-1) (control first); ``--circular`` adds
  CNOT(n-1,0).  n*blocks parameters.
* ``u3_cu3``: per block b, base=b*6n: U3(params[base+3q : base+3q+3]) on every
  qubit q, then for p in 0..n-1 CU3(params[base+3n+3p : base+3n+3p+3]) with control
  p and target (p+1) % n.  6n*blocks parameters.
* U3(t,f,l) = [[cos t/2, -e^{il} sin t/2], [e^{if} sin t/2, e^{i(f+l)} cos t/2]].

Qubit ordering per library (all end up with qubit 0 = MSB of the saved index):

* TorchQuantum: the state is a tensor of shape [bsz, 2, ..., 2] whose axis 1+q is
  wire q; ``get_states_1d`` is a C-order reshape, so wire 0 is already the MSB.
* PennyLane (default.qubit and lightning.qubit): ``qml.probs(wires=range(n))``
  orders the index with the first listed wire as MSB -> wire 0 is the MSB.
* TensorCircuit: ``Circuit.state()`` is a C-order flattening of the [2]*n tensor
  whose axis q is qubit q -> qubit 0 is the MSB.

These claims are checked by ``reference.py --selftest`` against an independent
numpy dense-matrix reference.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time

PEERS = ("torchquantum", "pennylane_default", "pennylane_lightning", "tensorcircuit")
ANSATZE = ("ry_cnot", "u3_cu3")


def n_params(ansatz: str, n: int, blocks: int) -> int:
    return n * blocks if ansatz == "ry_cnot" else 6 * n * blocks


def _rss_mb() -> float:
    # Linux: ru_maxrss is in KiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _set_thread_env(peer: str, threads: int) -> None:
    """Must run before the peer library (and numpy) is imported."""
    t = str(threads)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
        os.environ[var] = t
    if peer == "tensorcircuit":
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
        flags = os.environ.get("XLA_FLAGS", "")
        if threads == 1:
            flags += " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        os.environ["XLA_FLAGS"] = flags.strip()


# --------------------------------------------------------------------------- peers
# Each builder returns a dict with
#   version: str
#   dtype:   str  (state dtype actually used)
#   probs():          -> np.ndarray float64 [2**n], qubit 0 = MSB
#   fwd():            one forward pass (no gradient bookkeeping); returns something
#                     that is fully computed when fwd returns
#   fwdbwd():         forward + backward of sum(probs*w); returns (loss, grad ndarray
#                     in the flat parameter order)


def build_torchquantum(args, params, weights):
    import torch
    torch.set_num_threads(args.threads)
    import torchquantum as tq

    n, L = args.n, args.blocks
    if args.precision != "single":
        raise SystemExit("torchquantum 0.1.8 hard-codes complex64 (C_DTYPE); only --precision single")

    class Model(tq.QuantumModule):
        """Written the way the Quantum-Train reference code uses TorchQuantum:
        Op1QAllLayer / Op2QAllLayer of trainable ops on a QuantumDevice."""

        def __init__(self):
            super().__init__()
            self.layers = tq.QuantumModuleList()
            for _ in range(L):
                if args.ansatz == "ry_cnot":
                    self.layers.append(tq.Op1QAllLayer(op=tq.RY, n_wires=n, has_params=True, trainable=True))
                    self.layers.append(tq.Op2QAllLayer(op=tq.CNOT, n_wires=n, has_params=False,
                                                       trainable=False, circular=args.circular))
                else:
                    self.layers.append(tq.Op1QAllLayer(op=tq.U3, n_wires=n, has_params=True, trainable=True))
                    self.layers.append(tq.Op2QAllLayer(op=tq.CU3, n_wires=n, has_params=True,
                                                       trainable=True, circular=True))

        def forward(self):
            qdev = tq.QuantumDevice(n_wires=n, bsz=1)
            for layer in self.layers:
                layer(qdev)
            return qdev.get_states_1d()[0].abs() ** 2

    model = Model()
    # The parametrised ops in module order == flat parameter order of the spec:
    # block b: RY/U3 on q=0..n-1, then (u3_cu3 only) CU3 for p=0..n-1.
    ops = []
    for layer in model.layers:
        for op in layer.ops_all:
            if op.params is not None:
                ops.append(op)
    per = 1 if args.ansatz == "ry_cnot" else 3
    assert len(ops) * per == params.size, (len(ops), per, params.size)
    with torch.no_grad():
        for i, op in enumerate(ops):
            op.params.copy_(torch.as_tensor(params[i * per:(i + 1) * per], dtype=op.params.dtype).view_as(op.params))
    w = torch.as_tensor(weights, dtype=torch.float32)

    def probs():
        with torch.no_grad():
            return model().double().numpy()

    def fwd():
        with torch.no_grad():
            return model()

    def fwdbwd():
        model.zero_grad(set_to_none=True)
        loss = (model() * w).sum()
        loss.backward()
        g = torch.cat([op.params.grad.reshape(-1) for op in ops])
        return float(loss.detach()), g.double().numpy()

    return dict(version=tq.__version__, dtype="complex64", probs=probs, fwd=fwd, fwdbwd=fwdbwd,
                note="tq.Op1QAllLayer/Op2QAllLayer modules on QuantumDevice (bmm), complex64")


def _pennylane_ops(qml, ansatz, n, L, p, circular, cu3="ctrl"):
    if ansatz == "ry_cnot":
        for b in range(L):
            for q in range(n):
                qml.RY(p[b * n + q], wires=q)
            for q in range(n - 1):
                qml.CNOT(wires=[q, q + 1])
            if circular and n > 1:
                qml.CNOT(wires=[n - 1, 0])
    else:
        for b in range(L):
            base = b * 6 * n
            for q in range(n):
                i = base + 3 * q
                qml.U3(p[i], p[i + 1], p[i + 2], wires=q)
            for c in range(n):
                i = base + 3 * n + 3 * c
                t = (c + 1) % n
                if cu3 == "ctrl":
                    qml.ctrl(qml.U3(p[i], p[i + 1], p[i + 2], wires=t), control=c)
                else:
                    # U3(th,ph,la) = e^{i(ph+la)/2} RZ(ph) RY(th) RZ(la), so
                    # CU3 = PhaseShift((ph+la)/2 on control) CRZ(ph) CRY(th) CRZ(la):
                    # gates lightning differentiates natively (no decomposition).
                    qml.CRZ(p[i + 2], wires=[c, t])
                    qml.CRY(p[i], wires=[c, t])
                    qml.CRZ(p[i + 1], wires=[c, t])
                    qml.PhaseShift((p[i + 1] + p[i + 2]) / 2, wires=c)


def build_pennylane(args, params, weights, lightning: bool):
    import numpy as np
    import torch
    torch.set_num_threads(args.threads)
    import pennylane as qml

    n, L = args.n, args.blocks
    fdt = torch.float32 if args.precision == "single" else torch.float64
    wires = list(range(n))
    cu3 = args.pl_cu3 or ("native" if lightning else "ctrl")
    if lightning:
        from importlib.metadata import version as _dist_version
        import scipy.sparse as sp
        cdt = np.complex64 if args.precision == "single" else np.complex128
        dev = qml.device("lightning.qubit", wires=n, c_dtype=cdt)
        version = f"pennylane {qml.__version__}, pennylane-lightning {_dist_version('pennylane_lightning')}"

        @qml.qnode(dev, interface="torch", diff_method=None)
        def probs_node(p):
            _pennylane_ops(qml, args.ansatz, n, L, p, args.circular, cu3)
            return qml.probs(wires=wires)

        # lightning's adjoint method differentiates expectation values only, so the
        # loss sum_k w_k p_k is expressed as <psi| diag(w) |psi> (a sparse diagonal
        # observable; 2**n non-zeros).
        H = qml.SparseHamiltonian(sp.csr_matrix(sp.diags(np.asarray(weights, dtype=np.float64))), wires=wires)

        @qml.qnode(dev, interface="torch", diff_method="adjoint")
        def loss_node(p):
            _pennylane_ops(qml, args.ansatz, n, L, p, args.circular, cu3)
            return qml.expval(H)

        dtype = np.dtype(cdt).name
        note = ("lightning.qubit, diff_method=adjoint, loss=expval(SparseHamiltonian(diag(w))), "
                f"CU3 as {'qml.ctrl(qml.U3)' if cu3 == 'ctrl' else 'CRZ,CRY,CRZ,PhaseShift'}")
    else:
        dev = qml.device("default.qubit", wires=n)

        @qml.qnode(dev, interface="torch", diff_method="backprop")
        def probs_node(p):
            _pennylane_ops(qml, args.ansatz, n, L, p, args.circular, cu3)
            return qml.probs(wires=wires)

        loss_node = None
        dtype = None
        note = ("default.qubit, interface=torch, diff_method=backprop, "
                f"CU3 as {'qml.ctrl(qml.U3)' if cu3 == 'ctrl' else 'CRZ,CRY,CRZ,PhaseShift'}")

    w = torch.as_tensor(weights, dtype=torch.float64 if lightning else fdt)

    def probs():
        with torch.no_grad():
            return probs_node(torch.as_tensor(params, dtype=fdt)).double().numpy()

    def fwd():
        with torch.no_grad():
            if lightning:
                return loss_node(torch.as_tensor(params, dtype=fdt))
            return probs_node(torch.as_tensor(params, dtype=fdt))

    def fwdbwd():
        p = torch.tensor(params, dtype=fdt, requires_grad=True)
        if lightning:
            loss = loss_node(p)
        else:
            loss = (probs_node(p) * w).sum()
        loss.backward()
        return float(loss.detach()), p.grad.double().numpy()

    info = dict(version=version if lightning else f"pennylane {qml.__version__}", dtype=dtype,
                probs=probs, fwd=fwd, fwdbwd=fwdbwd, note=note)
    if dtype is None:
        # default.qubit chooses the state dtype itself: report what it used
        # (probs float32 <=> complex64 state, float64 <=> complex128)
        def probs_and_dtype():
            with torch.no_grad():
                out = probs_node(torch.as_tensor(params, dtype=fdt))
            info["dtype"] = "complex64" if out.dtype == torch.float32 else "complex128"
            return out.double().numpy()
        info["probs"] = probs_and_dtype
    return info


def build_tensorcircuit(args, params, weights):
    import numpy as np
    import jax
    if args.precision == "double":
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import tensorcircuit as tc

    tc.set_backend("jax")
    tc.set_dtype("complex64" if args.precision == "single" else "complex128")
    n, L = args.n, args.blocks
    rdt = jnp.float32 if args.precision == "single" else jnp.float64
    per_block = n_params(args.ansatz, n, 1)

    def block(state, p):
        """One block applied to a state vector (a small tensor network that tc
        contracts); blocks are iterated with lax.scan (tc's recommended pattern for
        deep circuits, keeps jit time independent of depth)."""
        c = tc.Circuit(n, inputs=state)
        if args.ansatz == "ry_cnot":
            for q in range(n):
                c.ry(q, theta=p[q])
            for q in range(n - 1):
                c.cnot(q, q + 1)
            if args.circular and n > 1:
                c.cnot(n - 1, 0)
        else:
            for q in range(n):
                c.u(q, theta=p[3 * q], phi=p[3 * q + 1], lbd=p[3 * q + 2])
            for cq in range(n):
                i = 3 * n + 3 * cq
                c.cu(cq, (cq + 1) % n, theta=p[i], phi=p[i + 1], lbd=p[i + 2])
        return c.state()

    def probs_fn(flat):
        pb = flat.reshape(L, per_block)
        psi0 = jnp.zeros(2 ** n, dtype=tc.dtypestr).at[0].set(1.0)
        psi, _ = jax.lax.scan(lambda s, p: (block(s, p), None), psi0, pb)
        return jnp.real(psi * jnp.conj(psi))

    w = jnp.asarray(weights, dtype=rdt)

    def loss_fn(flat):
        return jnp.sum(probs_fn(flat) * w)

    pj = jnp.asarray(params, dtype=rdt)
    # compile ahead of time so that compile time is reported on its own and the
    # warm-up / "too slow" check measures execution only
    t0 = time.perf_counter()
    probs_jit = jax.jit(probs_fn).lower(pj).compile()
    t1 = time.perf_counter()
    vg_jit = jax.jit(jax.value_and_grad(loss_fn)).lower(pj).compile()
    compile_ms = dict(fwd=round((t1 - t0) * 1e3, 1), fwdbwd=round((time.perf_counter() - t1) * 1e3, 1))

    def probs():
        return np.asarray(probs_jit(pj), dtype=np.float64)

    def fwd():
        return probs_jit(pj).block_until_ready()

    def fwdbwd():
        v, g = vg_jit(pj)
        g = g.block_until_ready()
        return float(v), np.asarray(g, dtype=np.float64)

    return dict(version=f"tensorcircuit-ng {tc.__version__}, jax {jax.__version__}", dtype=tc.dtypestr,
                probs=probs, fwd=fwd, fwdbwd=fwdbwd, compile_ms=compile_ms,
                note="jax backend, jit (AOT-compiled before timing), lax.scan over blocks, "
                     "tc.Circuit(inputs=state) per block")


# --------------------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peer", required=True, choices=PEERS)
    ap.add_argument("--ansatz", required=True, choices=ANSATZE)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--blocks", type=int, required=True)
    ap.add_argument("--params", required=True, help="flat float .npy")
    ap.add_argument("--weights", required=True, help="float .npy of length 2**n")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1, help="warm-up calls of fwd and of fwd+bwd")
    ap.add_argument("--out", required=True)
    ap.add_argument("--probs-out", default=None)
    ap.add_argument("--grad-out", default=None, help="optional .npy for the gradient (flat param order)")
    ap.add_argument("--precision", choices=("single", "double"), default="single",
                    help="single: float32 params / complex64 state where the library allows (default)")
    ap.add_argument("--pl-cu3", choices=("ctrl", "native"), default=None,
                    help="PennyLane CU3: qml.ctrl(qml.U3) or CRZ/CRY/CRZ/PhaseShift "
                         "(default: ctrl for default.qubit, native for lightning.qubit)")
    ap.add_argument("--circular", action="store_true", help="ry_cnot only: add CNOT(n-1, 0)")
    ap.add_argument("--max-fwdbwd-s", type=float, default=60.0,
                    help="if the warm-up fwd+bwd takes longer, stop and report status 'skipped' (too slow)")
    ap.add_argument("--time-budget-s", type=float, default=240.0,
                    help="cap repeats so that the timed loops take roughly at most this long")
    args = ap.parse_args(argv)

    _set_thread_env(args.peer, args.threads)
    import numpy as np

    params = np.load(args.params).astype(np.float64).reshape(-1)
    weights = np.load(args.weights).astype(np.float64).reshape(-1)
    if params.size != n_params(args.ansatz, args.n, args.blocks):
        raise SystemExit(f"expected {n_params(args.ansatz, args.n, args.blocks)} params, got {params.size}")
    if weights.size != 2 ** args.n:
        raise SystemExit(f"expected {2 ** args.n} weights, got {weights.size}")

    # import the library (builders import lazily; import first so that the RSS
    # baseline covers the library itself)
    t0 = time.perf_counter()
    if args.peer == "torchquantum":
        import torch  # noqa: F401
        import torchquantum  # noqa: F401
    elif args.peer.startswith("pennylane"):
        import torch  # noqa: F401
        import pennylane  # noqa: F401
    else:
        import jax  # noqa: F401
        import tensorcircuit  # noqa: F401
    import_s = time.perf_counter() - t0
    rss_after_import = _rss_mb()

    if args.peer == "torchquantum":
        impl = build_torchquantum(args, params, weights)
    elif args.peer == "pennylane_default":
        impl = build_pennylane(args, params, weights, lightning=False)
    elif args.peer == "pennylane_lightning":
        impl = build_pennylane(args, params, weights, lightning=True)
    else:
        impl = build_tensorcircuit(args, params, weights)

    build_s = time.perf_counter() - t0 - import_s
    result = dict(peer=args.peer, version=impl["version"], ansatz=args.ansatz, n=args.n, blocks=args.blocks,
                  n_params=int(params.size), threads=args.threads, precision=args.precision,
                  note=impl["note"], circular=bool(args.circular),
                  import_s=round(import_s, 3), build_s=round(build_s, 3), python=sys.version.split()[0])
    if "compile_ms" in impl:
        result["jit_compile_ms"] = impl["compile_ms"]

    def finish(status, **extra):
        rss_end = _rss_mb()
        result.update(extra)
        result.update(status=status, rss_after_import_mb=round(rss_after_import, 1),
                      rss_peak_total_mb=round(rss_end, 1),
                      peak_rss_mb=round(rss_end - rss_after_import, 1))
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
        return 0

    # probabilities (also a first forward warm-up; JAX was compiled ahead of time in the builder)
    t0 = time.perf_counter()
    p = impl["probs"]()
    result["first_probs_ms"] = round((time.perf_counter() - t0) * 1e3, 3)
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    result["dtype"] = impl["dtype"]
    result["probs_sum"] = float(p.sum())
    if args.probs_out:
        np.save(args.probs_out, p)

    # warm-up (fwd+bwd first: its time decides whether the case is too slow)
    warm = []
    for _ in range(max(1, args.warmup)):
        t0 = time.perf_counter()
        loss, grad = impl["fwdbwd"]()
        warm.append((time.perf_counter() - t0) * 1e3)
        if warm[-1] > args.max_fwdbwd_s * 1e3:
            break
    result["warmup_fwdbwd_ms"] = [round(x, 3) for x in warm]
    result["loss"] = float(loss)
    result["grad_norm"] = float(np.linalg.norm(grad))
    if args.grad_out:
        np.save(args.grad_out, np.asarray(grad, dtype=np.float64))
    if warm[-1] > args.max_fwdbwd_s * 1e3:
        return finish("skipped", reason=f"too slow: one fwd+bwd took {warm[-1] / 1e3:.3g} s "
                                        f"> {args.max_fwdbwd_s:g} s", fwd_ms_median=None,
                      fwdbwd_ms_median=None, fwdbwd_ms_all=[round(warm[-1], 3)])
    for _ in range(max(1, args.warmup)):
        impl["fwd"]()

    est = warm[-1] / 1e3
    reps = max(1, min(args.repeats, int(args.time_budget_s / max(est * 1.5, 1e-9))))
    # wall time is what is reported; process CPU time (all threads) is recorded too,
    # since with threads=1 it is much less sensitive to other load on the machine
    load_before = os.getloadavg()[0]
    fwd_all, fb_all, fwd_cpu, fb_cpu = [], [], [], []
    for fn, wall, cpu in (("fwd", fwd_all, fwd_cpu), ("fwdbwd", fb_all, fb_cpu)):
        for _ in range(reps):
            c0, t0 = time.process_time(), time.perf_counter()
            impl[fn]()
            wall.append((time.perf_counter() - t0) * 1e3)
            cpu.append((time.process_time() - c0) * 1e3)
    r3 = lambda xs: [round(x, 3) for x in xs]  # noqa: E731
    return finish("ok", repeats=reps,
                  fwd_ms_median=round(statistics.median(fwd_all), 3), fwd_ms_all=r3(fwd_all),
                  fwdbwd_ms_median=round(statistics.median(fb_all), 3), fwdbwd_ms_all=r3(fb_all),
                  fwd_cpu_ms_median=round(statistics.median(fwd_cpu), 3),
                  fwdbwd_cpu_ms_median=round(statistics.median(fb_cpu), 3), fwdbwd_cpu_ms_all=r3(fb_cpu),
                  loadavg_1min=[round(load_before, 2), round(os.getloadavg()[0], 2)])


if __name__ == "__main__":
    sys.exit(main())
