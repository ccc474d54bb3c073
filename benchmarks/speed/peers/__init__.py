"""Run peer quantum simulators (TorchQuantum, PennyLane, TensorCircuit) for comparison.

This module runs under the project venv and never imports a peer library: each peer
lives in its own virtualenv under ``<repo>/.peers/<venv>/`` (created by
``benchmarks/speed/setup_peers.sh``) and is driven through ``run_peer.py`` in a subprocess.

    from peers import available_peers, run_peer      # with benchmarks/speed/ on sys.path
    available_peers()   # {"torchquantum": ".../.peers/torchquantum/bin/python", ...}
    r = run_peer("pennylane_lightning", "ry_cnot", 13, 16, params, weights)
    r["status"]         # "ok" | "skipped" | "failed"
    r["probs"]          # np.ndarray [2**n] float64, qubit 0 = MSB   (when ok)

Environment: ``QTRAIN_PEERS_DIR`` overrides the location of the venvs.
"""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["PEERS", "available_peers", "run_peer", "estimate_memory_gb", "peers_dir"]

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "run_peer.py"
REPO = HERE.parents[2]  # benchmarks/speed/peers/ -> the repository root

# peer name -> (venv dir name, import statement proving the peer works)
PEERS: dict[str, tuple[str, str]] = {
    "torchquantum": ("torchquantum", "import torch, torchquantum"),
    "pennylane_default": ("pennylane", "import torch, pennylane"),
    "pennylane_lightning": ("pennylane", "import torch, pennylane, pennylane_lightning; "
                                         "import pennylane as qml; qml.device('lightning.qubit', wires=1)"),
    "tensorcircuit": ("tensorcircuit", "import jax, tensorcircuit"),
}


def peers_dir() -> Path:
    return Path(os.environ.get("QTRAIN_PEERS_DIR", REPO / ".peers"))


def _python(venv: str) -> Path:
    return peers_dir() / venv / "bin" / "python"


@functools.lru_cache(maxsize=None)
def _imports_ok(python: str, stmt: str) -> bool:
    try:
        r = subprocess.run([python, "-c", stmt], capture_output=True, timeout=300,
                           env=_child_env(1), cwd=tempfile.gettempdir())
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def available_peers() -> dict[str, str]:
    """Peer name -> python executable, for peers whose venv exists and imports."""
    out = {}
    for name, (venv, stmt) in PEERS.items():
        py = _python(venv)
        if py.exists() and _imports_ok(str(py), stmt):
            out[name] = str(py)
    return out


# ----------------------------------------------------------------------- memory guard

def _gate_counts(ansatz: str, n: int, blocks: int) -> tuple[int, int]:
    """(all gates, parametrised gates) of the benchmark circuits (circular=False)."""
    if ansatz == "ry_cnot":
        return blocks * (2 * n - 1), blocks * n
    if ansatz == "u3_cu3":
        return blocks * 2 * n, blocks * 2 * n
    raise ValueError(ansatz)


# Memory kept alive by autograd, per gate: A bytes per amplitude plus B bytes, a fixed
# overhead in GiB on top (fitted to the peak RSS measured on this machine, rounded up;
# see README.md).  The autograd-tape simulators (TorchQuantum, default.qubit backprop)
# keep about one intermediate state per gate (TorchQuantum: complex64, measured
# 11.5-14 B/amplitude at n=19; default.qubit: complex128, 16.5-19 B/amplitude);
# JAX's scan keeps about one complex64 residual per parametrised gate (8-10 B);
# lightning's adjoint method keeps a few state vectors only.
_MEM_MODEL = {
    #                      (A B/amp, B bytes, gates counted, fixed GiB)
    "torchquantum":        (14.0, 32 << 10, "all", 0.3),
    "pennylane_default":   (20.0, 192 << 10, "all", 0.3),
    "pennylane_lightning": (0.0, 0, "all", 0.3),
    "tensorcircuit":       (10.5, 16 << 10, "param", 1.0),  # + XLA compile memory
}


def estimate_memory_gb(peer: str, ansatz: str, n: int, blocks: int, precision: str = "single") -> float:
    """Rough peak-memory estimate (GiB) of one fwd+bwd of ``peer`` on this circuit."""
    per_amp, per_gate, which, fixed = _MEM_MODEL[peer]
    g_all, g_par = _gate_counts(ansatz, n, blocks)
    gates = g_all if which == "all" else g_par
    scale = 2.0 if (precision == "double" and peer in ("torchquantum", "tensorcircuit")) else 1.0
    states = 8.0 * (2 ** n) * 16  # a handful of complex128 state vectors for every peer
    return (gates * (per_amp * scale * 2 ** n + per_gate) + states) / 2 ** 30 + fixed


# ----------------------------------------------------------------------------- runner

def _child_env(threads: int) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "VIRTUAL_ENV", "XLA_", "JAX_"))}
    t = str(threads)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = t
    env["PYTHONNOUSERSITE"] = "1"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


def run_peer(peer: str, ansatz: str, n: int, blocks: int, params: np.ndarray, weights: np.ndarray,
             threads: int = 1, repeats: int = 5, timeout_s: float = 600, mem_limit_gb: float = 16.0,
             precision: str = "single", want_grad: bool = False, max_fwdbwd_s: float = 60.0,
             time_budget_s: float = 240.0, circular: bool = False) -> dict:
    """Run one peer benchmark in its own venv.

    Returns the runner's JSON dict plus ``probs`` (np.ndarray, qubit 0 = MSB) and,
    if ``want_grad``, ``grad`` (flat parameter order).  ``status`` is "ok",
    "skipped" (memory estimate above ``mem_limit_gb``, or one fwd+bwd slower than
    ``max_fwdbwd_s``) or "failed" (not installed, timeout, crash).
    """
    base = dict(peer=peer, ansatz=ansatz, n=n, blocks=blocks, threads=threads, precision=precision)
    if peer not in PEERS:
        return dict(base, status="failed", reason=f"unknown peer {peer!r}; known: {sorted(PEERS)}")
    est = estimate_memory_gb(peer, ansatz, n, blocks, precision)
    base["est_mem_gb"] = round(est, 2)
    if est > mem_limit_gb:
        return dict(base, status="skipped", reason=f"estimated {est:.1f} GiB > limit {mem_limit_gb:g} GiB")
    py = _python(PEERS[peer][0])
    if not py.exists():
        return dict(base, status="failed", reason=f"not installed: {py} missing (run benchmarks/speed/setup_peers.sh)")

    with tempfile.TemporaryDirectory(prefix=f"peer_{peer}_") as td:
        td = Path(td)
        np.save(td / "params.npy", np.asarray(params, dtype=np.float64).reshape(-1))
        np.save(td / "weights.npy", np.asarray(weights, dtype=np.float64).reshape(-1))
        cmd = [str(py), str(RUNNER), "--peer", peer, "--ansatz", ansatz, "--n", str(n),
               "--blocks", str(blocks), "--params", str(td / "params.npy"),
               "--weights", str(td / "weights.npy"), "--threads", str(threads),
               "--repeats", str(repeats), "--out", str(td / "result.json"),
               "--probs-out", str(td / "probs.npy"), "--precision", precision,
               "--max-fwdbwd-s", str(max_fwdbwd_s), "--time-budget-s", str(time_budget_s)]
        if want_grad:
            cmd += ["--grad-out", str(td / "grad.npy")]
        if circular:
            cmd += ["--circular"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s,
                                  env=_child_env(threads), cwd=td)
        except subprocess.TimeoutExpired:
            return dict(base, status="failed", reason=f"timeout after {timeout_s:g} s")
        if proc.returncode != 0 or not (td / "result.json").exists():
            tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-5:]
            why = f"signal {-proc.returncode} (killed, out of memory?)" if proc.returncode < 0 \
                else f"exit code {proc.returncode}"
            return dict(base, status="failed", reason=f"{why}: " + " | ".join(tail))
        res = json.loads((td / "result.json").read_text())
        res["est_mem_gb"] = base["est_mem_gb"]
        res["probs"] = np.load(td / "probs.npy") if (td / "probs.npy").exists() else None
        if want_grad:
            res["grad"] = np.load(td / "grad.npy") if (td / "grad.npy").exists() else None
        return res


# ------------------------------------------------------------------ measurement CLI

DEFAULT_CASES = ("ry_cnot:13:16,ry_cnot:13:106,ry_cnot:19:19,ry_cnot:19:95,ry_cnot:19:323,"
                 "u3_cu3:6:20,u3_cu3:6:50,u3_cu3:9:20,u3_cu3:9:50")


def case_inputs(ansatz: str, n: int, blocks: int) -> tuple[np.ndarray, np.ndarray]:
    """The benchmark inputs: params ~ U(-pi, pi) with seed 0, weights ~ U(0, 1) with seed 1."""
    k = n * blocks if ansatz == "ry_cnot" else 6 * n * blocks
    params = np.random.default_rng(0).uniform(-np.pi, np.pi, k)
    weights = np.random.default_rng(1).uniform(0.0, 1.0, 2 ** n)
    return params, weights


def _meta(threads, repeats, mem_limit_gb, precision) -> dict:
    import platform
    return {
        "runner": "benchmarks/speed/peers/run_peer.py via benchmarks/speed/peers/__init__.py measure()",
        "inputs": "params = np.random.default_rng(0).uniform(-pi, pi, n_params); "
                  "weights = np.random.default_rng(1).uniform(0, 1, 2**n)",
        "loss": "sum(probs * weights); fwd = probabilities only, fwdbwd = loss + gradient w.r.t. all params",
        "timing": "wall-clock median (ms) after warm-up; *_cpu_ms = process CPU time (all threads) of the "
                  "same calls; loadavg_1min = machine load before/after the timed loops",
        "peak_rss_mb": "ru_maxrss at the end minus ru_maxrss right after importing the library",
        "threads": threads, "repeats": repeats, "mem_limit_gb": mem_limit_gb, "precision": precision,
        "cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
    }


def measure(peers=None, cases=DEFAULT_CASES, threads=1, repeats=5, mem_limit_gb=16.0, timeout_s=600,
            precision="single", out=None, log=print, probs_dir=None) -> list[dict]:
    """Run every (case, peer) one after the other; cross-check the probabilities.

    For n <= 10 each peer is compared with the dense numpy reference (``max_dp_ref``);
    for every n with the first peer that succeeded on the case (``max_dp_vs``).
    If ``out`` is given, results are merged into that JSON file after every run
    (keyed by peer, ansatz, n, blocks, threads, precision). If ``probs_dir`` is given, each
    peer's probabilities are saved there as ``<peer>__<ansatz>_<n>_<blocks>.npy`` (``qtrain bench
    sim --peers`` compares them with qtrain's).
    """
    sys.path.insert(0, str(HERE))
    import reference  # noqa: E402  (sibling file, numpy only)

    avail = available_peers()
    todo = list(peers) if peers else [p for p in PEERS if p in avail]
    records: list[dict] = []
    old = []
    if out and Path(out).exists():
        old = json.loads(Path(out).read_text()).get("results", [])

    def key(r):
        return (r["peer"], r["ansatz"], r["n"], r["blocks"], r["threads"], r.get("precision", "single"))

    def save():
        if not out:
            return
        merged = {key(r): r for r in old}
        merged.update({key(r): r for r in records})
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps({"meta": _meta(threads, repeats, mem_limit_gb, precision),
                                         "peers_available": avail, "results": list(merged.values())},
                                        indent=1) + "\n")

    for case in [c for c in cases.split(",") if c]:
        ansatz, n, blocks = case.split(":")
        n, blocks = int(n), int(blocks)
        params, weights = case_inputs(ansatz, n, blocks)
        pref = reference.probs(ansatz, n, blocks, params) if n <= 10 else None
        first = None
        for peer in todo:
            if peer not in avail:
                r = dict(peer=peer, ansatz=ansatz, n=n, blocks=blocks, threads=threads, precision=precision,
                         status="failed", reason="peer not installed / does not import")
            else:
                log(f"[peers] {peer} {ansatz} n={n} blocks={blocks} threads={threads} ...")
                r = run_peer(peer, ansatz, n, blocks, params, weights, threads=threads, repeats=repeats,
                             timeout_s=timeout_s, mem_limit_gb=mem_limit_gb, precision=precision)
            p = r.pop("probs", None)
            r.pop("grad", None)
            if p is not None:
                if probs_dir:
                    Path(probs_dir).mkdir(parents=True, exist_ok=True)
                    np.save(Path(probs_dir) / f"{peer}__{ansatz}_{n}_{blocks}.npy", p)
                if pref is not None:
                    r["max_dp_ref"] = float(np.max(np.abs(p - pref)))
                if first is None:
                    first = (peer, p)
                else:
                    r["max_dp_vs"] = {first[0]: float(np.max(np.abs(p - first[1])))}
            records.append(r)
            if r.get("status") == "ok":
                log(f"[peers]   ok: fwd {r['fwd_ms_median']:.1f} ms, fwd+bwd {r['fwdbwd_ms_median']:.1f} ms "
                    f"(cpu {r.get('fwdbwd_cpu_ms_median', float('nan')):.1f} ms), "
                    f"peak {r['peak_rss_mb']:.0f} MB (est {r.get('est_mem_gb')} GiB), dtype {r.get('dtype')}")
            else:
                log(f"[peers]   {r.get('status')}: {r.get('reason')}")
            save()
    save()  # also when no peer ran: the file still says which peers are available
    return records


def _main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(description="Run the peer simulators on the benchmark cases.")
    ap.add_argument("--list", action="store_true", help="print the available peers and exit")
    ap.add_argument("--peers", default="", help="comma-separated (default: all available)")
    ap.add_argument("--cases", default=DEFAULT_CASES, help="ansatz:n:blocks,... (default: the benchmark set)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--mem-limit-gb", type=float, default=16.0)
    ap.add_argument("--timeout-s", type=float, default=600)
    ap.add_argument("--precision", choices=("single", "double"), default="single")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "peers_raw.json"))
    ap.add_argument("--probs-dir", default=None, help="also save each peer's probabilities here (.npy)")
    args = ap.parse_args(argv)
    if args.list:
        print(json.dumps(available_peers(), indent=1))
        return 0
    measure([p for p in args.peers.split(",") if p], args.cases, args.threads, args.repeats,
            args.mem_limit_gb, args.timeout_s, args.precision, args.out, probs_dir=args.probs_dir)
    return 0


if __name__ == "__main__":
    sys.exit(_main())
