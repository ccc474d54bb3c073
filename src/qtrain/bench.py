"""Simulator benchmark on the Quantum-Train workloads (the library behind ``qtrain bench sim``).

Each case runs in a fresh subprocess so its peak memory is its own. Times are medians after a
warm-up; ``loss = sum(probs * w)`` with a fixed ``w`` is differentiated w.r.t. every circuit
parameter. Peers (TorchQuantum, PennyLane, tensorcircuit-ng) are optional: they live in their own
virtualenvs made by the repository's ``benchmarks/speed/setup_peers.sh`` and are driven by the
repository's peer runner (``benchmarks/speed/peers/``) in a subprocess, so the installed package
never imports ``benchmarks``. Each peer's probabilities are checked against qtrain's.

Example:
    >>> res = run_sim_benchmark(parse_cases("ry_cnot:4:2"), repeats=1)  # doctest: +SKIP
    >>> [(r.case, r.library.split()[0]) for r in res.rows]              # doctest: +SKIP
    [('ry_cnot 4x2', 'qtrain')]
    >>> print(res.markdown())                                           # doctest: +SKIP
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

__all__ = ["CASES", "QUICK_CASES", "MAX_QUBITS", "PEER_RUNNER", "Case", "BenchRow", "SimBenchmark", "parse_cases",
           "find_peer_runner", "time_case", "run_sim_benchmark"]

MAX_QUBITS = 24
"""Largest case ``qtrain bench sim`` accepts: 2**24 amplitudes, a few hundred MiB with adjoint buffers."""

PEER_RUNNER = Path("benchmarks") / "speed" / "peers" / "__init__.py"
"""Where the peer runner lives in a repository checkout (relative to its root)."""


@dataclass(frozen=True)
class Case:
    """One benchmark circuit: ``ansatz`` with ``n`` qubits and ``blocks`` blocks."""

    ansatz: str
    n: int
    blocks: int

    @property
    def label(self) -> str:
        return f"{self.ansatz} {self.n}x{self.blocks}"

    @property
    def spec(self) -> str:
        """The ``ansatz:n:blocks`` form that :func:`parse_cases` reads."""
        return f"{self.ansatz}:{self.n}:{self.blocks}"


CASES = [Case("ry_cnot", 13, 16), Case("ry_cnot", 13, 106), Case("ry_cnot", 19, 19), Case("ry_cnot", 19, 95),
         Case("ry_cnot", 19, 323), Case("u3_cu3", 6, 20), Case("u3_cu3", 6, 50), Case("u3_cu3", 9, 20),
         Case("u3_cu3", 9, 50)]
QUICK_CASES = [Case("ry_cnot", 13, 16), Case("ry_cnot", 19, 19), Case("u3_cu3", 6, 20)]
_ANSATZE = ("ry_cnot", "u3_cu3")  # the two the peer runner implements too


@dataclass(frozen=True)
class BenchRow:
    """One row of the table: a library timed on a case (``status`` ``ok``, ``failed`` or ``skipped``).

    ``ratio`` is this library's fwd+bwd time over qtrain's (1.0 for qtrain); ``check`` is
    ``reference`` for qtrain and ``ok`` / ``MISMATCH <max |dp|>`` for a peer.
    """

    case: str
    library: str
    status: str = "ok"
    reason: str = ""
    fwdbwd_ms: float | None = None
    fwd_ms: float | None = None
    peak_mb: float | None = None
    ratio: float | None = None
    check: str = ""


@dataclass
class SimBenchmark:
    """What :func:`run_sim_benchmark` returns: a title line, the rows and notes (e.g. no peers found)."""

    title: str
    rows: list[BenchRow]
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        """The title and the rows as a markdown table (the README's format)."""
        lines = [self.title, "", "| case | library | fwd+bwd | peak mem | peer / qtrain | probs check |",
                 "|---|---|---|---|---|---|"]
        for r in self.rows:
            if r.status != "ok":
                lines.append(f"| {r.case} | {r.library} | {r.status}: {r.reason} | | | |")
            else:
                lines.append(f"| {r.case} | {r.library} | {_fmt(r.fwdbwd_ms)} | {r.peak_mb or 0:.0f} MB | "
                             f"{r.ratio or 0:.1f}x | {r.check} |")
        return "\n".join(lines)


def parse_cases(text: str) -> list[Case]:
    """``"ry_cnot:13:16,u3_cu3:6:20"`` -> cases; each is checked (ansatz, 1 <= n <= MAX_QUBITS, blocks >= 1)."""
    items = [t.strip() for t in str(text).split(",")]
    cases = []
    for item in items:
        parts = item.split(":")
        if len(parts) != 3 or not parts[1].strip().isdigit() or not parts[2].strip().isdigit():
            raise ValueError(f"--cases={text!r}: {item!r} is not ansatz:n:blocks; write e.g. "
                             "ry_cnot:13:16,u3_cu3:6:20")
        cases.append(Case(parts[0].strip(), int(parts[1]), int(parts[2])))
    _check_cases(cases)
    return cases


def _check_cases(cases: Sequence[Case]) -> None:
    if not cases:
        raise ValueError("cases=[] is empty; pass at least one ansatz:n:blocks, e.g. ry_cnot:13:16")
    for c in cases:
        if c.ansatz not in _ANSATZE:
            raise ValueError(f"case {c.spec!r}: ansatz={c.ansatz!r} is not benchmarked; use one of {list(_ANSATZE)}")
        if not 1 <= c.n <= MAX_QUBITS:
            raise ValueError(f"case {c.spec!r}: n={c.n} qubits is outside 1..{MAX_QUBITS}; "
                             f"pick at most {MAX_QUBITS} qubits")
        if c.blocks < 1:
            raise ValueError(f"case {c.spec!r}: blocks={c.blocks} must be >= 1")


def case_inputs(case: Case) -> tuple[Any, Any, Any]:
    """The circuit, parameters uniform(-pi, pi) (seed 0) and loss weights uniform(0, 1) (seed 1)."""
    import numpy as np

    from qtrain.sim import build_ansatz

    c = build_ansatz(case.ansatz, case.n, case.blocks)
    params = np.random.default_rng(0).uniform(-np.pi, np.pi, c.n_params)
    weights = np.random.default_rng(1).uniform(0, 1, 2**case.n)
    return c, params, weights


def _median_ms(fn: Callable[[], None], repeats: int) -> tuple[float, list[float]]:
    fn()  # warm-up: first-call planning and allocation are not what is measured
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return sorted(times)[len(times) // 2], times


def time_case(case: Case, threads: int | None, repeats: int, probs_out: str | None = None) -> dict[str, Any]:
    """Time one case in this process; returns a JSON-able dict (and saves the probabilities to ``probs_out``)."""
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


def _child_env(threads: int) -> dict[str, str]:
    """The parent's environment with this qtrain first on the path (the child times the same code)."""
    import qtrain

    env = dict(os.environ)
    src = str(Path(qtrain.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
    env["OMP_NUM_THREADS"] = str(threads)
    return env


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else "no output"


def _time_in_subprocess(case: Case, threads: int, repeats: int, probs_out: str, tmp: Path) -> dict[str, Any]:
    result = tmp / f"{case.ansatz}_{case.n}_{case.blocks}.json"
    cmd = [sys.executable, "-m", "qtrain.bench", case.ansatz, str(case.n), str(case.blocks), str(repeats),
           str(threads), probs_out, str(result)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=_child_env(threads), check=False)
    if out.returncode != 0 or not result.is_file():
        return {"status": "failed", "reason": _last_line(out.stderr or out.stdout)}
    return json.loads(result.read_text())


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x / 1e3:.2f} s" if x >= 1e4 else f"{x:.1f} ms" if x >= 10 else f"{x:.2f} ms"


# ----------------------------------------------------------------------------- peers (optional)
def find_peer_runner(repo: str | Path | None = None) -> Path:
    """The repository's peer runner: under ``repo``, else under the current directory or one of its parents.

    Raises:
        ValueError: no repository checkout holds ``benchmarks/speed/peers/`` (it is not installed with qtrain).
    """
    if repo is not None:
        if not (Path(repo) / PEER_RUNNER).is_file():
            raise ValueError(f"repo={str(repo)!r} has no {PEER_RUNNER}; pass the root of a qtrain repository "
                             "checkout (peers are driven by its benchmarks/speed/peers/)")
        return Path(repo) / PEER_RUNNER
    cwd = Path.cwd()
    for folder in (cwd, *cwd.parents):
        if (folder / PEER_RUNNER).is_file():
            return folder / PEER_RUNNER
    raise ValueError(f"peers need the qtrain repository checkout: no {PEER_RUNNER} in {str(cwd)!r} or its parents "
                     "(it is not installed with the package); run from the checkout, or pass its root as "
                     "repo= (--repo DIR), after `bash benchmarks/speed/setup_peers.sh` there")


def _run_peers(runner: Path, cases: Sequence[Case], threads: int, repeats: int, tmp: Path,
               notes: list[str]) -> list[dict[str, Any]]:
    """Every installed peer on every case, in one subprocess; records (probabilities saved in ``tmp``)."""
    out = tmp / "peers.json"
    cmd = [sys.executable, str(runner), "--cases", ",".join(c.spec for c in cases), "--threads", str(threads),
           "--repeats", str(max(1, min(repeats, 3))), "--out", str(out), "--probs-dir", str(tmp / "peer_probs")]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not out.is_file():
        notes.append(f"peer runner {runner} failed: {_last_line(proc.stderr or proc.stdout)}")
        return []
    data = json.loads(out.read_text())
    if not data.get("peers_available"):
        notes.append(f"no peer virtualenvs found; run `bash benchmarks/speed/setup_peers.sh` in "
                     f"{runner.parents[3]} to install TorchQuantum, PennyLane and tensorcircuit-ng")
    return list(data.get("results", []))


def _peer_row(case: Case, rec: dict[str, Any], ours_ms: float, ours_probs: Path, tmp: Path) -> BenchRow:
    import numpy as np

    name = str(rec.get("peer"))
    if rec.get("status") != "ok":
        return BenchRow(case.label, name, status=str(rec.get("status", "failed")), reason=str(rec.get("reason", "")))
    probs = tmp / "peer_probs" / f"{name}__{case.ansatz}_{case.n}_{case.blocks}.npy"
    if probs.is_file():
        err = float(np.abs(np.load(probs) - np.load(ours_probs)).max())
        check = "ok" if err < 1e-4 else f"MISMATCH {err:.1e}"
    else:
        check = "no probabilities"
    return BenchRow(case.label, f"{name} {rec.get('version', '')}".strip(), fwdbwd_ms=rec["fwdbwd_ms_median"],
                    fwd_ms=rec.get("fwd_ms_median"), peak_mb=rec.get("peak_rss_mb", 0.0),
                    ratio=rec["fwdbwd_ms_median"] / ours_ms, check=check)


# ----------------------------------------------------------------------------- the benchmark
def _our_row(case: Case, r: dict[str, Any]) -> BenchRow:
    if r.get("status") == "failed":
        return BenchRow(case.label, "qtrain", status="failed", reason=r["reason"])
    native = "native" if r.get("native") else "torch"
    return BenchRow(case.label, f"qtrain ({r['dtype']}, {native})", fwdbwd_ms=r["fwdbwd_ms_median"],
                    fwd_ms=r["fwd_ms_median"], peak_mb=r["peak_rss_mb"], ratio=1.0, check="reference")


def run_sim_benchmark(quick: bool = False, threads: int | None = None, repeats: int = 5, peers: bool = False, *,
                      cases: Sequence[Case] | None = None, repo: str | Path | None = None) -> SimBenchmark:
    """Time forward+backward of every case (each in a fresh process), and the installed peers when asked.

    Args:
        quick: the three :data:`QUICK_CASES` instead of :data:`CASES` (ignored when ``cases`` is given).
        threads: torch threads of each timed process (``None``: torch's default here).
        repeats: timed repeats per case after one warm-up; medians are reported (peers: at most 3).
        peers: also time the peers installed by the repository's ``benchmarks/speed/setup_peers.sh``.
        cases: the circuits to time (see :func:`parse_cases`).
        repo: the repository checkout holding the peer runner (default: found from the current directory).

    Returns:
        :class:`SimBenchmark`: per case, qtrain's row, then one row per peer (ratio = peer / qtrain).

    Raises:
        ValueError: bad cases, ``threads`` or ``repeats``, or ``peers`` without a repository checkout.
    """
    import torch

    cases = list(cases) if cases is not None else list(QUICK_CASES if quick else CASES)
    _check_cases(cases)
    if threads is not None and threads < 1:
        raise ValueError(f"threads={threads} must be >= 1 (or None for torch's default)")
    if repeats < 1:
        raise ValueError(f"repeats={repeats} must be >= 1")
    runner = find_peer_runner(repo) if peers else None  # fail before timing anything
    th = threads or torch.get_num_threads()
    title = (f"qtrain simulator, forward+backward (adjoint) of sum(probs*w); {th} thread(s); "
             f"{platform.processor() or platform.machine()}; torch {torch.__version__}; medians of {repeats}")
    res = SimBenchmark(title, [])
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        probs = {c: tmp / f"{c.ansatz}_{c.n}_{c.blocks}.npy" for c in cases}
        ours = {c: _time_in_subprocess(c, th, repeats, str(probs[c]), tmp) for c in cases}
        timed = [c for c in cases if ours[c].get("status") != "failed"]
        recs = _run_peers(runner, timed, th, repeats, tmp, res.notes) if runner and timed else []
        for case in cases:
            res.rows.append(_our_row(case, ours[case]))
            res.rows += [_peer_row(case, r, ours[case]["fwdbwd_ms_median"], probs[case], tmp) for r in recs
                         if (r.get("ansatz"), r.get("n"), r.get("blocks")) == (case.ansatz, case.n, case.blocks)]
    return res


def _worker(argv: Sequence[str]) -> None:
    """One case in a fresh process: ``ansatz n blocks repeats threads probs_out result_json``."""
    ansatz, n, blocks, repeats, threads, probs_out, result = argv
    res = time_case(Case(ansatz, int(n), int(blocks)), int(threads) or None, int(repeats), probs_out or None)
    Path(result).write_text(json.dumps(res))


if __name__ == "__main__":
    _worker(sys.argv[1:])
