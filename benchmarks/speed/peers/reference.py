#!/usr/bin/env python
"""Independent tiny numpy dense-matrix reference of the benchmark ansatze (n <= 10).

Every gate is expanded to a full 2**n x 2**n matrix with ``np.kron`` (qubit 0 is the
LEFTMOST kron factor, i.e. the MOST significant bit of the basis index) and applied
to the state vector.  Deliberately naive: it shares no code with qtrain or with the
peer runners, and is used to check each peer's gate and qubit-order conventions.

    python benchmarks/speed/peers/reference.py --selftest [--peers a,b] [--precision single|double|both]

runs every available peer at n=4, blocks=2 for both ansatze and asserts
max |p_peer - p_ref| < 1e-5 (and checks the gradient of sum(p*w) against central
finite differences of the reference).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

I2 = np.eye(2, dtype=np.complex128)
P0 = np.array([[1, 0], [0, 0]], dtype=np.complex128)
P1 = np.array([[0, 0], [0, 1]], dtype=np.complex128)
X = np.array([[0, 1], [1, 0]], dtype=np.complex128)


def ry(t: float) -> np.ndarray:
    c, s = np.cos(t / 2), np.sin(t / 2)
    return np.array([[c, -s], [s, c]], dtype=np.complex128)


def u3(theta: float, phi: float, lam: float) -> np.ndarray:
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    return np.array([[c, -np.exp(1j * lam) * s],
                     [np.exp(1j * phi) * s, np.exp(1j * (phi + lam)) * c]], dtype=np.complex128)


def _kron_all(mats) -> np.ndarray:
    out = np.ones((1, 1), dtype=np.complex128)
    for m in mats:  # mats[0] acts on qubit 0 = MSB
        out = np.kron(out, m)
    return out


def one_qubit(n: int, q: int, m: np.ndarray) -> np.ndarray:
    return _kron_all([m if k == q else I2 for k in range(n)])


def controlled(n: int, c: int, t: int, m: np.ndarray) -> np.ndarray:
    """|0><0|_c (x) I + |1><1|_c (x) m_t, for any (c, t) placement."""
    a = _kron_all([P0 if k == c else I2 for k in range(n)])
    b = _kron_all([P1 if k == c else (m if k == t else I2) for k in range(n)])
    return a + b


def n_params(ansatz: str, n: int, blocks: int) -> int:
    return n * blocks if ansatz == "ry_cnot" else 6 * n * blocks


def state(ansatz: str, n: int, blocks: int, params, circular: bool = False) -> np.ndarray:
    if n > 10:
        raise ValueError("reference is dense: n <= 10")
    params = np.asarray(params, dtype=np.float64).reshape(-1)
    assert params.size == n_params(ansatz, n, blocks)
    psi = np.zeros(2 ** n, dtype=np.complex128)
    psi[0] = 1.0
    for b in range(blocks):
        if ansatz == "ry_cnot":
            for q in range(n):
                psi = one_qubit(n, q, ry(params[b * n + q])) @ psi
            for q in range(n - 1):
                psi = controlled(n, q, q + 1, X) @ psi
            if circular and n > 1:
                psi = controlled(n, n - 1, 0, X) @ psi
        elif ansatz == "u3_cu3":
            base = b * 6 * n
            for q in range(n):
                psi = one_qubit(n, q, u3(*params[base + 3 * q: base + 3 * q + 3])) @ psi
            for p in range(n):
                i = base + 3 * n + 3 * p
                psi = controlled(n, p, (p + 1) % n, u3(*params[i:i + 3])) @ psi
        else:
            raise ValueError(ansatz)
    return psi


def probs(ansatz: str, n: int, blocks: int, params, circular: bool = False) -> np.ndarray:
    return np.abs(state(ansatz, n, blocks, params, circular)) ** 2


def grad(ansatz: str, n: int, blocks: int, params, weights, circular: bool = False, h: float = 1e-6):
    """Central finite differences of sum(probs * weights)."""
    params = np.asarray(params, dtype=np.float64).reshape(-1)
    g = np.empty_like(params)
    for i in range(params.size):
        e = np.zeros_like(params)
        e[i] = h
        g[i] = (probs(ansatz, n, blocks, params + e, circular) @ weights
                - probs(ansatz, n, blocks, params - e, circular) @ weights) / (2 * h)
    return g


def _sanity() -> None:
    """Conventions of the reference itself, checked by hand-computable cases."""
    # X on qubit 0 of 3 -> |100> = index 4 (qubit 0 is the MSB)
    psi = one_qubit(3, 0, X) @ np.eye(8)[0]
    assert np.argmax(np.abs(psi)) == 4
    # CNOT(0,1) on |10> -> |11>
    assert np.argmax(np.abs(controlled(2, 0, 1, X) @ np.eye(4)[2])) == 3
    # ring CNOT(1,0) on |01> -> |11>
    assert np.argmax(np.abs(controlled(2, 1, 0, X) @ np.eye(4)[1])) == 3
    # U3(t,0,0) == RY(t); U3 unitary
    assert np.allclose(u3(0.3, 0, 0), ry(0.3))
    m = u3(0.3, 1.1, -0.4)
    assert np.allclose(m @ m.conj().T, np.eye(2))


def selftest(peers=None, precisions=("single",), n=4, blocks=2, tol=1e-5) -> bool:
    _sanity()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from peers import available_peers, run_peer  # noqa: E402  (benchmarks/speed/peers package)

    avail = available_peers()
    todo = sorted(avail) if not peers else list(peers)
    print(f"available peers: {sorted(avail)}")
    ok_all = True
    rng = np.random.default_rng(0)
    w = np.random.default_rng(1).uniform(0, 1, 2 ** n)
    for peer in todo:
        if peer not in avail:
            print(f"[FAIL] {peer}: not available")
            ok_all = False
            continue
        for ansatz in ("ry_cnot", "u3_cu3"):
            params = rng.uniform(-np.pi, np.pi, n_params(ansatz, n, blocks))
            pref = probs(ansatz, n, blocks, params)
            gref = grad(ansatz, n, blocks, params, w)
            for prec in precisions:
                if peer == "torchquantum" and prec == "double":
                    continue  # TorchQuantum 0.1.8 is complex64-only
                r = run_peer(peer, ansatz, n, blocks, params, w, threads=1, repeats=1,
                             precision=prec, want_grad=True, timeout_s=300)
                if r.get("status") != "ok":
                    print(f"[FAIL] {peer} {ansatz} {prec}: {r.get('status')} {r.get('reason')}")
                    ok_all = False
                    continue
                dp = float(np.max(np.abs(r["probs"] - pref)))
                gtol = 1e-3 if prec == "single" else 1e-6
                dg = float(np.max(np.abs(r["grad"] - gref))) if r.get("grad") is not None else float("nan")
                good = dp < tol and dg < gtol
                ok_all &= good
                print(f"[{'ok' if good else 'FAIL'}] {peer:20s} {ansatz:8s} {prec:6s} dtype={r.get('dtype'):10s} "
                      f"max|dp|={dp:.2e} (tol {tol:g})  max|dgrad|={dg:.2e} (tol {gtol:g})")
    return ok_all


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--selftest", action="store_true")
    ap.add_argument("--peers", default="", help="comma-separated subset (default: all available)")
    ap.add_argument("--precision", choices=("single", "double", "both"), default="both")
    args = ap.parse_args(argv)
    if not args.selftest:
        ap.print_help()
        return 0
    precs = ("single", "double") if args.precision == "both" else (args.precision,)
    ok = selftest([p for p in args.peers.split(",") if p], precs)
    print("SELFTEST", "PASSED" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
