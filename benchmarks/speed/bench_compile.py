"""Compile time and peak memory of ``ansatz.ry_cnot(n, blocks).compile()``: this checkout vs a baseline.

The baseline is another commit of this repository (default: the last one before the simulator was
split into layers, whose CNOT chains were 2**n-entry int64 index arrays). It is exported with
``git archive`` into a temporary folder and given this checkout's native extension
(``src/qtrain/sim/_native``), so only the Python layers differ. Every measurement runs in a fresh
process, baseline and current interleaved; reported are the median compile seconds and the peak
resident memory the compile added on top of the imports, next to the size of one float32 state.
Target (issue 13): a 26-qubit ``ry_cnot`` compiles in under 5 s and needs less memory than its state.

    python benchmarks/speed/bench_compile.py                    # writes benchmarks/results/compile.md
    python benchmarks/speed/bench_compile.py --qubits 20 22 --repeats 3 --baseline none
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results" / "compile.md"
BASELINE = "a5909c2"  # main before the simulator refactor (issue 11): compile built 2**n index arrays

# Runs in a fresh process: import, then one timed compile; prints seconds and MB added to the peak RSS.
PROBE = """
import json, resource, sys, time
import torch
torch.set_num_threads(1)
from qtrain.sim import ansatz
n, blocks = int(sys.argv[1]), int(sys.argv[2])
c = ansatz.ry_cnot(n, blocks)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
c.compile()
seconds = time.perf_counter() - t0
print(json.dumps({"s": seconds, "mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024}))
"""


def export_baseline(ref: str, into: Path) -> Path:
    """``git archive`` of ``ref``'s ``src/`` with this checkout's native extension; returns its ``src``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "src"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    native = into / "src" / "qtrain" / "sim" / "_native"
    shutil.rmtree(native)
    shutil.copytree(ROOT / "src" / "qtrain" / "sim" / "_native", native)
    return into / "src"


def measure(src: Path, n: int, blocks: int, timeout: float) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src), OMP_NUM_THREADS="1")
    try:
        out = subprocess.run([sys.executable, "-c", PROBE, str(n), str(blocks)], capture_output=True, text=True,
                             env=env, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:.0f} s"}
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1][:80]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _cell(runs: list[dict]) -> tuple[str, str, float | None]:
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[0]["error"], "-", None
    s = statistics.median(r["s"] for r in ok)
    return f"{s:.3f} s", f"{max(r['mb'] for r in ok):.0f} MB", s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qubits", type=int, nargs="+", default=[20, 22, 24, 26])
    ap.add_argument("--blocks", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3, help="runs of the current code per size")
    ap.add_argument("--baseline-repeats", type=int, default=1, help="runs of the baseline (minutes at 26 qubits)")
    ap.add_argument("--baseline", default=BASELINE, help="git ref to compare with, or 'none'")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per baseline compile")
    ap.add_argument("--out", type=Path, default=RESULTS)
    a = ap.parse_args()
    current = ROOT / "src"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = export_baseline(a.baseline, Path(tmp)) if a.baseline != "none" else None
        for n in a.qubits:
            runs: dict[str, list[dict]] = {"before": [], "after": []}
            for r in range(max(a.repeats, a.baseline_repeats if base else 0)):
                if base is not None and r < a.baseline_repeats:
                    runs["before"].append(measure(base, n, a.blocks, a.timeout))
                if r < a.repeats:
                    runs["after"].append(measure(current, n, a.blocks, a.timeout))
            bt, bm, bs = _cell(runs["before"]) if base is not None else ("-", "-", None)
            at, am, as_ = _cell(runs["after"])
            speed = f"{bs / as_:.0f}x" if bs and as_ else "-"
            state = 2**n * 4 / 2**20
            rows.append(f"| {n} | {a.blocks} | {state:.0f} MB | {bt} | {bm} | {at} | {am} | {speed} |")
            print(rows[-1], flush=True)
    import torch

    title = (f"`ansatz.ry_cnot(n, {a.blocks}).compile()`, one fresh process per run, 1 thread; "
             f"{platform.processor() or platform.machine()}; torch {torch.__version__}; before = `{a.baseline}` "
             f"(median of {a.baseline_repeats}), after = this checkout (median of {a.repeats}). Peak memory: what "
             "the compile added to the process's peak resident set.")
    head = [title, "",
            "| qubits | blocks | float32 state | before | before peak | after | after peak | speed-up |",
            "|---|---|---|---|---|---|---|---|"]
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text("\n".join(head + rows) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
