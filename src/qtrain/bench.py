"""Simulator benchmark on the Quantum-Train workloads (``qtrain bench sim``).

Each case runs in a fresh subprocess so its peak memory is its own. Times are medians after a
warm-up; ``loss = sum(probs * w)`` with a fixed ``w`` is differentiated w.r.t. every circuit
parameter. Peers (TorchQuantum, PennyLane, tensorcircuit-ng) are timed in the same run when
their virtualenvs exist (``benchmarks/setup_peers.sh``) and their probabilities are checked
against qtrain's before they are timed.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CASES", "QUICK_CASES", "Case", "time_case", "run_sim_benchmark"]


@dataclass(frozen=True)
class Case:
    ansatz: str
    n: int
    blocks: int

    @property
    def label(self) -> str:
        return f"{self.ansatz} {self.n}x{self.blocks}"


CASES = [Case("ry_cnot", 13, 16), Case("ry_cnot", 13, 106), Case("ry_cnot", 19, 19), Case("ry_cnot", 19, 95),
         Case("ry_cnot", 19, 323), Case("u3_cu3", 6, 20), Case("u3_cu3", 6, 50), Case("u3_cu3", 9, 20),
         Case("u3_cu3", 9, 50)]
QUICK_CASES = [Case("ry_cnot", 13, 16), Case("ry_cnot", 19, 19), Case("u3_cu3", 6, 20)]


def case_inputs(case: Case):  # noqa: ANN201 - numpy arrays
    """Parameters uniform(-pi, pi) (seed 0) and loss weights uniform(0, 1) (seed 1)."""
    import numpy as np

    from qtrain.sim import build_ansatz

    c = build_ansatz(case.ansatz, case.n, case.blocks)
    params = np.random.default_rng(0).uniform(-np.pi, np.pi, c.n_params)
    weights = np.random.default_rng(1).uniform(0, 1, 2**case.n)
    return c, params, weights


def _median_ms(fn, repeats: int) -> tuple[float, list[float]]:  # noqa: ANN001
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return sorted(times)[len(times) // 2], times


def time_case(case: Case, threads: int | None, repeats: int, probs_out: str | None = None) -> dict:
    """Time one case in this process; returns a JSON-able dict."""
    import resource

    import numpy as np
    import torch

    if threads:
        torch.set_num_threads(threads)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    c, params, weights = case_inputs(case)
    cc = c.compile(diff_method="adjoint")
    w = torch.tensor(params, dtype=torch.float32, requires_grad=True)
    lw = torch.tensor(weights, dtype=torch.float32)

    def fwd() -> None:
        with torch.no_grad():
            cc.probs(w)

    def fwdbwd() -> None:
        w.grad = None
        (cc.probs(w)[0] * lw).sum().backward()

    fwd_ms, _ = _median_ms(fwd, repeats)
    fb_ms, fb_all = _median_ms(fwdbwd, repeats)
    if probs_out:
        with torch.no_grad():
            np.save(probs_out, cc.probs(w)[0].double().numpy())
    return {
        "peer": "qtrain", "ansatz": case.ansatz, "n": case.n, "blocks": case.blocks,
        "threads": torch.get_num_threads(), "fwd_ms_median": fwd_ms, "fwdbwd_ms_median": fb_ms,
        "fwdbwd_ms_all": fb_all, "peak_rss_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024,
        "dtype": str(cc.dtype).replace("torch.", ""), "native": _native_used(),
    }


def _native_used() -> bool:
    try:
        from qtrain.sim import _native  # type: ignore[attr-defined]

        return bool(getattr(_native, "AVAILABLE", False))
    except ImportError:
        return False


def _run_subprocess(case: Case, threads: int | None, repeats: int, probs_out: str | None) -> dict:
    cmd = [sys.executable, "-m", "qtrain.bench", case.ansatz, str(case.n), str(case.blocks), str(repeats),
           str(threads or 0), probs_out or ""]
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        return {"status": "failed", "reason": out.stderr.strip().splitlines()[-1] if out.stderr else "?"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x / 1e3:.2f} s" if x >= 1e4 else f"{x:.1f} ms" if x >= 10 else f"{x:.2f} ms"


def _peer_rows(case: Case, ours: dict, threads: int | None, repeats: int, probs_file: str) -> list[str]:
    """Time each installed peer on ``case`` after checking its probabilities against ours."""
    import numpy as np

    sys.path.insert(0, str(Path.cwd()))
    try:
        from benchmarks import peers  # type: ignore[import-not-found]
    except ImportError as exc:
        raise ValueError(
            "--peers needs a source checkout (run from the repository root) with benchmarks/setup_peers.sh run"
        ) from exc
    _, params, weights = case_inputs(case)
    ref = np.load(probs_file)
    rows = []
    for name in peers.available_peers():
        r = peers.run_peer(name, case.ansatz, case.n, case.blocks, params, weights,
                           threads=threads or 1, repeats=max(1, min(repeats, 3)))
        if r.get("status") != "ok":
            rows.append(f"| {case.label} | {name} | {r.get('status')}: {r.get('reason', '')} | | | |")
            continue
        err = float(np.abs(r["probs"] - ref).max())
        ok = "ok" if err < 1e-4 else f"MISMATCH {err:.1e}"
        ratio = r["fwdbwd_ms_median"] / ours["fwdbwd_ms_median"]
        rows.append(f"| {case.label} | {name} {r.get('version', '')} | {_fmt(r['fwdbwd_ms_median'])} | "
                    f"{r.get('peak_rss_mb', 0):.0f} MB | {ratio:.1f}x | {ok} |")
    return rows


def run_sim_benchmark(quick: bool = False, threads: int | None = None, repeats: int = 5, peers: bool = False,
                      out: str | None = None) -> str:
    """Run the benchmark and return a markdown table (also written to ``out`` when given)."""
    import tempfile

    import torch

    cases = QUICK_CASES if quick else CASES
    th = threads or torch.get_num_threads()
    lines = [f"qtrain simulator, forward+backward (adjoint) of sum(probs*w); {th} thread(s); "
             f"{platform.processor() or platform.machine()}; torch {torch.__version__}; medians of {repeats}",
             "", "| case | library | fwd+bwd | peak mem | peer / qtrain | probs check |",
             "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            probs_file = os.path.join(tmp, f"{case.ansatz}_{case.n}_{case.blocks}.npy")
            r = _run_subprocess(case, th, repeats, probs_file)
            if r.get("status") == "failed":
                lines.append(f"| {case.label} | qtrain | failed: {r['reason']} | | | |")
                continue
            native = "native" if r.get("native") else "torch"
            lines.append(f"| {case.label} | qtrain ({r['dtype']}, {native}) | {_fmt(r['fwdbwd_ms_median'])} | "
                         f"{r['peak_rss_mb']:.0f} MB | 1.0x | reference |")
            if peers:
                lines.extend(_peer_rows(case, r, th, repeats, probs_file))
    table = "\n".join(lines)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(table + "\n")
    return table


if __name__ == "__main__":  # one case in a fresh process: ansatz n blocks repeats threads [probs_out]
    a = sys.argv[1:]
    res = time_case(Case(a[0], int(a[1]), int(a[2])), int(a[4]) or None, int(a[3]), a[5] if len(a) > 5 and a[5] else None)
    print(json.dumps(res))
