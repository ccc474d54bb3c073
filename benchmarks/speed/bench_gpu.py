"""qtrain on one CUDA GPU (issue 12): circuits, training steps and placement, against classical steps and GPU peers.

Everything is measured in the same run on the same GPU: medians of timed rounds after warm-up,
forward + backward of ``sum(probs * w)`` in float32 for circuits, Adam steps on random data for
training (the classical step of the same target is the baseline). Peers run where they import.

    python benchmarks/speed/bench_gpu.py                      # circuits + steps -> benchmarks/results/gpu.md
    python benchmarks/speed/bench_gpu.py --only check         # one section (check, circuits, steps, host)
    python benchmarks/speed/bench_gpu.py --only host          # no GPU: the generator on the host CPU by threads
    python benchmarks/speed/bench_gpu.py --protocol DIR       # + 50-epoch Fashion-MNIST QT-121 (IDX files in DIR)
    python benchmarks/speed/bench_gpu.py --compile-only       # no GPU: sm_90a builds of the kernels (registers,
                                                              # spills) -> benchmarks/results/gpu_kernels.md

Needs torch with CUDA and triton (no other extra); on a machine without CUDA it prints one line
and exits with status 2 (``--compile-only`` needs no GPU).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(Path(__file__).resolve().parent))

# (label, ansatz, qubits, blocks, per-sample batch (0: none), target ms of issue 12 or None)
CIRCUITS = [
    ("ry_cnot 13q x 16", "ry_cnot", 13, 16, 0, None),
    ("ry_cnot 13q x 106", "ry_cnot", 13, 106, 0, None),
    ("ry_cnot 19q x 323", "ry_cnot", 19, 323, 0, 10.0),
    ("u3_cu3 6q x 20", "u3_cu3", 6, 20, 0, 0.5),
    ("u3_cu3 13q x 16 (official QT code)", "u3_cu3", 13, 16, 0, None),
    ("13q, 128 samples: own Ry(x), then 4 ry_cnot blocks", "encoded", 13, 4, 128, None),
    ("13q, 1,024 samples: own Ry(x), then 4 ry_cnot blocks", "encoded", 13, 4, 1024, 2.0),
]
# (label, recipe, preset, batch, input shape, classes, target ratio to the classical step)
STEPS = [
    ("MNIST CNN vs QT-16", "qt_image", "mnist_qt16", 128, (1, 28, 28), 10, 1.2),
    ("MNIST CNN vs QT-121", "qt_image", "mnist_qt121", 128, (1, 28, 28), 10, 1.5),
    ("CIFAR CNN vs QT-323", "qt_image", "cifar_qt323", 1000, (3, 32, 32), 10, 2.0),
    ("MC-Net vs QET-6", "qet_amc", "qet6", 64, (2, 128), 11, 1.5),
]
# --smoke: every path on the CPU with tiny cases (CUDA graphs and peers then fail as rows), to test the script
SMOKE_CIRCUITS = [("ry_cnot 4q x 2", "ry_cnot", 4, 2, 0, 1e9), ("u3_cu3 3q x 2", "u3_cu3", 3, 2, 0, None),
                  ("4q, 8 samples", "encoded", 4, 1, 8, None)]
SMOKE_STEPS = [("MNIST CNN vs QT-16", "qt_image", "mnist_qt16", 8, (1, 28, 28), 10, 1.2),
               ("MNIST CNN vs QT-121", "qt_image", "mnist_qt121", 8, (1, 28, 28), 10, 1.5),
               ("MC-Net vs QET-6", "qet_amc", "qet6", 8, (2, 128), 11, 1.5)]
DEV = torch.device("cuda")
_PTR = {"src", "dst", "ops", "m1s", "m1p", "m2s", "m2p", "pconst", "pcols", "pphase", "phase", "positions", "psi_in",
        "g_in", "psi_out", "g_out", "cross1", "cross2"}
_INT_PTR = {"ops", "pconst", "pcols", "pphase", "positions"}


# ----------------------------------------------------------------------------- timing
def _sync() -> None:
    if DEV.type == "cuda":
        torch.cuda.synchronize()


def timed(step: Callable[[], object], repeats: int, inner: int = 1, warmup: int = 3) -> float:
    """Median milliseconds of ``step`` (GPU synchronised around each round of ``inner`` calls)."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        _sync()
        t0 = time.perf_counter()
        for _ in range(inner):
            step()
        _sync()
        times.append((time.perf_counter() - t0) / inner * 1e3)
    return statistics.median(times)


def _row(label: str, fn: Callable[[], float]) -> dict[str, Any]:
    try:
        return {"impl": label, "ms": fn()}
    except ImportError as exc:
        return {"impl": label, "ms": None, "note": f"not installed ({exc.name or exc})"}
    except NotImplementedError as exc:
        return {"impl": label, "ms": None, "note": f"not offered: {exc}"}
    except Exception as exc:  # noqa: BLE001 - a peer's failure is a row, not the end of the run
        return {"impl": label, "ms": None, "note": f"failed: {type(exc).__name__}: {str(exc)[:120]}"}


# ----------------------------------------------------------------------------- circuits
def circuit(kind: str, n: int, blocks: int) -> Any:
    from qtrain.sim import Circuit, Input, ansatz

    if kind != "encoded":
        return ansatz.ry_cnot(n, blocks) if kind == "ry_cnot" else ansatz.u3_cu3(n, blocks)
    c = Circuit(n)
    for q in range(n):
        c.ry(q, Input(q))
    return c.extend(ansatz.ry_cnot(n, blocks))


def circuit_rows(kind: str, n: int, blocks: int, batch: int, repeats: int) -> list[dict[str, Any]]:
    """qtrain's engines (and, without per-sample inputs, the peers) on one case."""
    from gpu_peers import PEERS

    c = circuit(kind, n, blocks)
    rng = np.random.default_rng(0)
    params = rng.uniform(-np.pi, np.pi, c.n_params)
    lw = rng.uniform(-1, 1, 2**n)
    dev = DEV
    w = torch.tensor(params, dtype=torch.float32, device=dev, requires_grad=True)
    x = torch.tensor(rng.uniform(-np.pi, np.pi, (batch, n)), dtype=torch.float32, device=dev) if batch else None
    lwt = torch.tensor(lw, dtype=torch.float32, device=dev)
    slow = 2**n * blocks * max(batch, 1) > 2**22  # the torch engine takes ~0.6 s here: fewer rounds

    def step(cc: Any) -> Callable[[], object]:
        def run() -> object:
            w.grad = None
            loss = (cc.probs(w, x) * lwt).sum()
            loss.backward()
            return loss
        return run

    rows = [_row("qtrain Triton engine", lambda: timed(step(c.compile(device=dev)), repeats)),
            _row("qtrain Triton engine, CUDA graph", lambda: timed(graphed(c.compile(device=dev), w, x, lwt), repeats)),
            _row("qtrain torch engine (before: one op per stage)",
                 lambda: timed(step(c.compile(device=dev, engine="stages")), 3 if slow else repeats, warmup=1))]
    if not batch:
        for name, build in PEERS.items():
            rows.append(_row(name, lambda b=build: timed(b(kind, n, blocks, params, lw)[1], 3 if slow else repeats,
                                                         warmup=1)))
    return rows


def graphed(cc: Any, w: torch.Tensor, x: torch.Tensor | None, lwt: torch.Tensor) -> Callable[[], object]:
    """Forward and backward captured once (torch.cuda.make_graphed_callables), replayed per call."""
    args = (w,) if x is None else (w, x)
    fn = torch.cuda.make_graphed_callables(lambda *a: (cc.probs(*a) * lwt).sum(), args)

    def run() -> object:
        w.grad = None
        loss = fn(*args)
        loss.backward()
        return loss
    return run


# ----------------------------------------------------------------------------- correctness on the device
def every_gate(n: int) -> Any:
    """Every gate kind of the library on ``n >= 4`` qubits (fixed and parameterised, 1q and 2q)."""
    from qtrain.sim import Circuit

    c = Circuit(n).h(0).x(1).y(2).z(3).s(0).t(1).sx(2).rx(0, 0).ry(1, 1).rz(2, 2).phase(3, 3).u3(0, 4, 5, 6)
    c.cnot(0, 1).cz(1, 2).swap(2, n - 1).crx(0, 2, 7).cry(3, 1, 8).crz(1, 3, 9).cu3(2, 0, 10, 11, 12)
    return c.rxx(0, 3, 13).ryy(1, 2, 14).rzz(n - 1, 0, 15).ry(2, 16).cnot(3, 0)


CHECKS = [("every gate kind, 4q (one launch)", lambda: every_gate(4), 0),
          ("every gate kind, 14q (complex tiles of 2^10)", lambda: every_gate(14), 0),
          ("ry_cnot 13q x 8 (one launch)", lambda: circuit("ry_cnot", 13, 8), 0),
          ("ry_cnot 16q x 3 (tiles of 2^11)", lambda: circuit("ry_cnot", 16, 3), 0),
          ("u3_cu3 6q x 4", lambda: circuit("u3_cu3", 6, 4), 0),
          ("13q, 64 samples: Ry(x) + 2 blocks", lambda: circuit("encoded", 13, 2), 64)]


def check_rows() -> list[dict[str, Any]]:
    """Triton engine on the device (float32) vs qtrain's torch engine on the CPU in float64:
    max abs error of the probabilities and of the adjoint gradients (target 1e-5)."""
    rows = []
    for label, make, batch in CHECKS:
        c = make()
        rng = np.random.default_rng(0)
        w = torch.tensor(rng.uniform(-3, 3, c.n_params))
        x = torch.tensor(rng.uniform(-2, 2, (batch, c.n_inputs))) if batch else None
        lw = torch.tensor(rng.uniform(-1, 1, 2**c.n_qubits))
        out = []
        for dev, dtype, method in ((DEV, torch.float32, "adjoint"), (torch.device("cpu"), torch.float64, "backprop")):
            cc = c.compile(device=dev, dtype=dtype, diff_method=method)
            wd = w.to(dev, dtype).requires_grad_()
            p = cc.probs(wd, None if x is None else x.to(dev, dtype))
            (p * lw.to(dev, dtype)).sum().backward()
            out.append((p.detach().cpu().double(), wd.grad.cpu().double(), cc.engine_for(max(batch, 1)).value))
        rows.append({"case": label, "engine": out[0][2], "probs_err": float((out[0][0] - out[1][0]).abs().max()),
                     "grad_err": float((out[0][1] - out[1][1]).abs().max())})
    return rows


def check_md(rows: list[dict[str, Any]]) -> list[str]:
    out = ["## Correctness on this device: float32 Triton engine vs float64 reference (max abs error)", "",
           "| circuit | engine | probabilities | adjoint gradients | within 1e-5 |", "|---|---|---:|---:|---|"]
    out += [f"| {r['case']} | {r['engine']} | {r['probs_err']:.1e} | {r['grad_err']:.1e} | "
            f"{'yes' if max(r['probs_err'], r['grad_err']) <= 1e-5 else 'NO'} |" for r in rows]
    return out + [""]


# ----------------------------------------------------------------------------- training steps
def build(recipe: str, preset: str, tag: str) -> torch.nn.Module:
    import importlib

    from qtrain.recipes.registry import RECIPE_MODULES, load_config

    cfg = load_config(recipe, preset)
    return importlib.import_module(RECIPE_MODULES[recipe]).build_model(cfg, tag)


def step_fn(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> Callable[[], object]:
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)

    def run() -> object:
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss
    return run


def naive_split(qt: Any, x: torch.Tensor, y: torch.Tensor) -> Callable[[], object]:
    """The issue's slow split: generate() on the CPU (torch's default threads), every generated
    tensor sent to the GPU on its own, functional_call on a CUDA copy of the target."""
    from torch.func import functional_call

    target = copy.deepcopy(qt.target).to(DEV)
    opt = torch.optim.Adam(qt.parameters(), lr=1e-4)

    def run() -> object:
        weights = {k: v.to(DEV) for k, v in qt.generate().items()}
        loss = torch.nn.functional.cross_entropy(functional_call(target, weights, (x,)), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss
    return run


def step_rows(recipe: str, preset: str, batch: int, shape: tuple[int, ...], classes: int,
              repeats: int) -> list[dict[str, Any]]:
    dev = DEV
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, *shape, generator=g).to(dev)
    y = torch.randint(0, classes, (batch,), generator=g).to(dev)
    rows = [_row("classical (baseline)", lambda: timed(step_fn(build(recipe, preset, "classical").to(dev), x, y),
                                                       repeats))]
    variants: list[tuple[str, dict[str, Any]]] = [
        ("QT, qnn_device='cuda' (Triton)", {"qnn_device": DEV.type}),
        ("QT, qnn_device='cuda', cuda_graph=True", {"qnn_device": DEV.type, "cuda_graph": True}),
        ("QT, qnn_device='cpu' (host, one crossing)", {"qnn_device": "cpu"}),
    ]
    for label, kw in variants:
        rows.append(_row(label, lambda kw=kw: timed(step_fn(build(recipe, preset, "qt").set_placement(**kw).to(dev),
                                                            x, y), repeats)))
    auto = build(recipe, preset, "qt").to(dev)
    rows.append(_row(f"QT, qnn_device='auto' (chose {auto.generator.qnn_weights.device.type})",
                     lambda: timed(step_fn(auto, x, y), repeats)))
    if preset == "mnist_qt121":
        rows.append(_row("QT, issue's split (per-tensor copies, default threads)",
                         lambda: timed(naive_split(build(recipe, preset, "qt"), x, y), repeats)))
    base = rows[0]["ms"]
    for r in rows:
        r["ratio"] = r["ms"] / base if r["ms"] and base else None
    return rows


# ----------------------------------------------------------------------------- host CPU (no GPU needed)
def _cpu_timed(steps: list[Callable[[], object]], repeats: int) -> list[float]:
    """Median ms of each step, rounds interleaved (load from other processes hits them alike)."""
    for step in steps:
        step()
    times: list[list[float]] = [[] for _ in steps]
    for _ in range(repeats):
        for i, step in enumerate(steps):
            t0 = time.perf_counter()
            step()
            times[i].append((time.perf_counter() - t0) * 1e3)
    return [statistics.median(t) for t in times]


def host_rows(repeats: int, presets: tuple[str, ...] = ("mnist_qt121", "cifar_qt323")) -> list[dict[str, Any]]:
    """The generator's step (forward + backward) on the host CPU at several thread counts, and the
    same step through the one-crossing Function: the basis of qtrain.qt.placement's host rule."""
    from qtrain.qt.placement import generate_across, torch_threads

    rows = []
    counts = sorted({1, 2, 4, os.cpu_count() or 1} & set(range(1, (os.cpu_count() or 1) + 1)))
    for preset in presets:
        gen = build("qt_image", preset, "qt").generator
        params = [p for p in gen.parameters() if p.requires_grad]

        def direct(g: Any = gen, ps: list = params) -> object:
            return torch.autograd.grad(g().sum(), ps)

        def crossed(g: Any = gen, ps: list = params) -> object:
            return torch.autograd.grad(generate_across(g, torch.device("cpu"), torch.get_num_threads()).sum(), ps)

        reps = repeats if gen.n_qubits <= 14 else max(1, repeats // 3)
        for th in counts:
            with torch_threads(th):
                d, c = _cpu_timed([direct, crossed], reps)
            rows.append({"case": preset, "threads": th, "direct_ms": d, "crossing_ms": c})
    return rows


def host_md(rows: list[dict[str, Any]]) -> list[str]:
    out = ["## Host CPU: the generator's step (forward + backward) by torch thread count, median ms", "",
           (f"Load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs. 'through the crossing': the "
            "same step inside qtrain.qt.placement.CrossDevice (here CPU to CPU: its own overhead)."), "",
           "| generator | threads | direct ms | through the crossing ms |", "|---|---:|---:|---:|"]
    out += [f"| {r['case']} | {r['threads']} | {_ms(r['direct_ms'])} | {_ms(r['crossing_ms'])} |" for r in rows]
    return out + [""]


# ----------------------------------------------------------------------------- protocol
def protocol(data_dir: str, cuda_graph: bool, overrides: list[str]) -> dict[str, Any]:
    """The paper's Fashion-MNIST QT-121 run (50 epochs, batch 128, Adam 1e-4) on the GPU: wall time, accuracy."""
    from qtrain.recipes.quantum_train import qt_image
    from qtrain.recipes.registry import load_config

    cfg = load_config("qt_image", "fashion_qt121", [f"data_dir={data_dir}", *overrides])
    data = qt_image.load_data(cfg)
    dev = DEV
    xtr, ytr = (t.to(dev) for t in data.train.tensors)
    xte, yte = (t.to(dev) for t in data.test.tensors)
    model = qt_image.build_model(cfg, "qt").set_placement(dev.type, cuda_graph).to(dev)
    opt = qt_image.build_optimizer(cfg, model, "qt")
    g = torch.Generator(device=dev).manual_seed(cfg.seed)
    _sync()
    t0 = time.perf_counter()
    for _ in range(cfg.epochs):
        order = torch.randperm(len(ytr), device=dev, generator=g)
        for i in range(0, len(ytr), cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            loss = torch.nn.functional.cross_entropy(model(xtr[idx]), ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    _sync()
    wall = time.perf_counter() - t0
    model.eval()
    with torch.no_grad(), model.cached():
        correct = sum(int((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum())
                      for i in range(0, len(yte), 1000))
    return {"epochs": cfg.epochs, "wall_s": wall, "test_acc": correct / len(yte), "paper_acc": 0.8074,
            "cuda_graph": cuda_graph, "overrides": overrides}


# ----------------------------------------------------------------------------- ahead-of-time builds
def _ptxas_info(ptx: str) -> dict[str, int]:
    import re
    import tempfile

    import triton

    bindir = Path(triton.__file__).parent / "backends" / "nvidia" / "bin"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "k.ptx"
        src.write_text(ptx)
        for exe in ("ptxas-blackwell", "ptxas"):
            r = subprocess.run([str(bindir / exe), "-arch=sm_90a", "-v", str(src), "-o", str(Path(tmp) / "k.o")],
                               capture_output=True, text=True, check=False)
            if r.returncode == 0:
                regs = re.search(r"Used (\d+) registers", r.stderr)
                spill = re.search(r"(\d+) bytes spill stores", r.stderr)
                return {"registers": int(regs.group(1)) if regs else -1, "spill_bytes": int(spill.group(1)) if spill
                        else 0, "cubin_bytes": (Path(tmp) / "k.o").stat().st_size}
    raise RuntimeError("no ptxas of this Triton accepts its PTX")


def compile_kernel(which: str, n: int, tile_bits: int, complex_state: bool, arch: int = 90, gate2: bool = True,
                   perm: bool | None = None, num_warps: int | None = None, fp: str = "fp32") -> dict[str, Any] | None:
    """Build ``forward_kernel``/``adjoint_kernel`` for an sm_``arch`` GPU without one (Triton's
    compiler and ptxas); None when Triton has no NVIDIA backend here."""
    try:
        import triton
        from triton.backends.compiler import GPUTarget
        from triton.compiler import ASTSource
    except ImportError:
        return None
    from qtrain.sim.engines import triton_kernels as k

    fn = k.forward_kernel if which == "forward" else k.adjoint_kernel
    names = fn.arg_names
    const = {"NQ": n, "TB": tile_bits, "C": 2 if complex_state else 1, "GATE2": gate2,
             "PERM": (n == tile_bits) if perm is None else perm}
    if which == "adjoint":
        const["GRAD"] = True
    sig = {a: "constexpr" if a in const else ("*i32" if a in _INT_PTR else f"*{fp}") if a in _PTR else "i32"
           for a in names}
    amplitude_bytes = (8 if fp == "fp64" else 4) * (2 if complex_state else 1)
    warps = num_warps or max(1, min(16, (1 << tile_bits) * amplitude_bytes // 1024))  # as TritonEngine
    try:
        cc = triton.compile(ASTSource(fn=fn, signature=sig, constexprs=const), target=GPUTarget("cuda", arch, 32),
                            options={"num_warps": warps})
    except (ImportError, FileNotFoundError):
        return None
    return {"kernel": which, "n": n, "tile_bits": tile_bits, "complex": complex_state, "num_warps": warps,
            "shared_bytes": cc.metadata.shared, **_ptxas_info(cc.asm["ptx"])}


def compile_rows() -> list[dict[str, Any]]:
    """Each circuit case's kernels as the engine would launch them, built for the H200."""
    from qtrain.sim.engines import EngineContext
    from qtrain.sim.engines.triton_engine import TritonEngine
    from qtrain.sim.program import compile_program
    from qtrain.sim.tables import LayerMatrices

    rows = []
    for label, kind, n, blocks, _batch, _t in CIRCUITS:
        c = circuit(kind, n, blocks)
        dtype = torch.float32 if c.is_real else torch.complex64
        prog = compile_program(c)
        eng = TritonEngine(EngineContext(prog, LayerMatrices(prog, dtype, torch.device("cpu")), dtype,
                                         torch.device("cuda")))
        m = eng._meta
        for which in ("forward", "adjoint"):
            info = compile_kernel(which, n, m["TB"], m["C"] == 2, gate2=m["GATE2"], perm=m["PERM"],
                                  num_warps=m["num_warps"])
            if info is None:
                raise SystemExit("bench_gpu: --compile-only needs Triton's NVIDIA backend (pip install triton)")
            rows.append({"case": label, "launches": eng.launches(), **info})
    return rows


# ----------------------------------------------------------------------------- report
def environment() -> dict[str, str]:
    """Commit, versions and device of this run."""
    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True, timeout=10,
                                  check=False).stdout.strip()
        except OSError:
            return "?"
    import triton

    env = {"commit": git("rev-parse", "--short", "HEAD") + (" (dirty)" if git("status", "--porcelain") else ""),
           "date": time.strftime("%Y-%m-%d %H:%M"), "python": platform.python_version(), "torch": torch.__version__,
           "triton": triton.__version__, "cuda": str(torch.version.cuda), "cpus": str(os.cpu_count()),
           "torch threads": str(torch.get_num_threads())}
    if torch.cuda.is_available():
        env["device"] = torch.cuda.get_device_name()
        try:
            env["driver"] = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                           capture_output=True, text=True, timeout=20, check=False).stdout.strip()
        except OSError:
            env["driver"] = "?"
    return env


def _ms(v: float | None) -> str:
    return "-" if v is None else (f"{v:.3f}" if v < 10 else f"{v:.1f}")


def _met(ok: bool | None) -> str:
    return "-" if ok is None else ("met" if ok else "NOT met")


def circuits_md(results: list[tuple[tuple, list[dict[str, Any]]]]) -> list[str]:
    out = ["## Circuits: forward + backward of sum(probs * w), float32, median ms", "",
           "| case | implementation | ms | vs fastest GPU peer | target (issue 12) |", "|---|---|---:|---:|---|"]
    for (label, kind, _n, _b, batch, target), rows in results:
        ours = min((r["ms"] for r in rows[:2] if r["ms"]), default=None)
        peers = [r["ms"] for r in rows[3:] if r["ms"] and "forward only" not in r["impl"]]
        for i, r in enumerate(rows):
            speed = f"{min(peers) / r['ms']:.1f}x faster" if peers and r["ms"] and i < 2 else "-"
            goal = ""
            if i == 0:
                goals = []
                if target is not None:
                    goals.append(f"<= {target} ms: {_met(ours <= target if ours else None)}")
                if kind == "ry_cnot":
                    goals.append(f">= 5x fastest peer: {_met(min(peers) / ours >= 5 if peers and ours else None)}")
                goal = "; ".join(goals)
            out.append(f"| {label if i == 0 else ''} | {r['impl']} | {_ms(r['ms'])} {r.get('note', '')} | {speed} "
                       f"| {goal} |")
    return out + [""]


def steps_md(results: list[tuple[tuple, list[dict[str, Any]]]]) -> list[str]:
    out = ["## Training steps: Adam on random data, median ms per step", "",
           "| model | variant | ms/step | ratio to classical | target (issue 12) |", "|---|---|---:|---:|---|"]
    for (label, _r, preset, batch, _s, _c, target), rows in results:
        best = min((r["ratio"] for r in rows[1:] if r.get("ratio")), default=None)
        for i, r in enumerate(rows):
            ratio = "-" if r.get("ratio") is None else f"{r['ratio']:.2f}x"
            goal = f"best <= {target}x: {_met(best <= target if best else None)}" if i == 0 else ""
            out.append(f"| {f'{label} ({preset}, batch {batch})' if i == 0 else ''} | {r['impl']} | "
                       f"{_ms(r['ms'])} {r.get('note', '')} | {ratio} | {goal} |")
    return out + [""]


def kernels_md(rows: list[dict[str, Any]]) -> str:
    head = ["# Triton kernels built for the H200 (sm_90a) without a GPU", "",
            (f"Triton's compiler and ptxas, `python benchmarks/speed/bench_gpu.py --compile-only` "
             f"(commit {environment()['commit']}). Launches: per direction (forward, or adjoint) of one call."), "",
            "| case | kernel | launches | tile bits | warps | registers | spill bytes | shared bytes |",
            "|---|---|---:|---:|---:|---:|---:|---:|"]
    body = [f"| {r['case']} | {r['kernel']} | {r['launches']} | {r['tile_bits']} | {r['num_warps']} | "
            f"{r['registers']} | {r['spill_bytes']} | {r['shared_bytes']} |" for r in rows]
    return "\n".join(head + body) + "\n"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=["check", "circuits", "steps", "host"], action="append",
                   help="sections to run (default: all, check first); host alone needs no GPU")
    p.add_argument("--repeats", type=int, default=7, help="timed rounds per row (median reported)")
    p.add_argument("--host-presets", nargs="+", default=["mnist_qt121", "cifar_qt323"], help="generators of 'host'")
    p.add_argument("--protocol", metavar="DIR", help="also run the 50-epoch Fashion-MNIST QT-121 protocol (IDX dir)")
    p.add_argument("--protocol-graph", action="store_true", help="capture the protocol's generator in CUDA graphs")
    p.add_argument("--protocol-set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="qt_image overrides of the protocol run (e.g. epochs=1 n_train=1024 for a trial)")
    p.add_argument("--smoke", action="store_true", help="run every path on the CPU with tiny cases (tests the script)")
    p.add_argument("--compile-only", action="store_true", help="build the kernels for sm_90a; needs no GPU")
    p.add_argument("--out", type=Path, default=None, help="markdown file (default: benchmarks/results/gpu.md)")
    return p


def _cannot_run(sections: list[str], smoke: bool) -> str | None:
    """The one line that explains why this machine cannot run the sections, or None."""
    if not torch.cuda.is_available() and sections != ["host"] and not smoke:
        return (f"bench_gpu: no CUDA device (torch {torch.__version__}, CUDA {torch.version.cuda}); run it on a "
                "machine with an NVIDIA GPU, or use --compile-only")
    try:
        import triton  # noqa: F401
    except ImportError:
        return 'bench_gpu: triton is not installed (pip install "qtrain[gpu]")'
    return None


def run_sections(args: argparse.Namespace, sections: list[str], raw: dict[str, Any]) -> list[str]:
    """Measure the chosen sections into ``raw``; their markdown lines."""
    circuits, steps = (SMOKE_CIRCUITS, SMOKE_STEPS) if args.smoke else (CIRCUITS, STEPS)
    lines: list[str] = []
    if "check" in sections:
        raw["check"] = rows = check_rows()
        lines += check_md(rows)
    if "circuits" in sections:
        res = [(case, circuit_rows(*case[1:5], args.repeats)) for case in circuits]
        raw["circuits"] = [[c[0], rows] for c, rows in res]
        lines += circuits_md(res)
    if "steps" in sections:
        res = [(case, step_rows(*case[1:6], args.repeats)) for case in steps]
        raw["steps"] = [[c[0], rows] for c, rows in res]
        lines += steps_md(res)
    if "host" in sections:
        raw["host"] = rows = host_rows(args.repeats, tuple(args.host_presets))
        lines += host_md(rows)
    if args.protocol:
        r = raw["protocol"] = protocol(args.protocol, args.protocol_graph, args.protocol_set)
        lines += [f"## Fashion-MNIST QT-121, {r['epochs']} epochs on the GPU (paper protocol: 50)", "",
                  (f"Wall time {r['wall_s']:.0f} s ({r['wall_s'] / r['epochs']:.1f} s/epoch), test accuracy "
                   f"{100 * r['test_acc']:.2f}% (paper 80.74%), cuda_graph={r['cuda_graph']}, "
                   f"overrides {r['overrides'] or 'none'}."), ""]
    return lines


def main(argv: list[str] | None = None) -> int:
    global DEV
    args = parser().parse_args(argv)
    if args.compile_only:
        text = kernels_md(compile_rows())
        (args.out or RESULTS / "gpu_kernels.md").write_text(text)
        print(text)
        return 0
    sections = args.only or ["check", "circuits", "steps", "host"]
    why = _cannot_run(sections, args.smoke)
    if why:
        print(why, file=sys.stderr)
        return 2
    DEV = torch.device("cpu") if args.smoke else torch.device("cuda")
    env = environment()
    raw: dict[str, Any] = {"env": env}
    lines = ["# qtrain on one GPU (issue 12)", "", " | ".join(f"{k}: {v}" for k, v in env.items()), "",
             f"Command: `python benchmarks/speed/bench_gpu.py {' '.join(argv if argv is not None else sys.argv[1:])}`",
             "", *run_sections(args, sections, raw)]
    default = "gpu_smoke.md" if args.smoke else ("gpu_host.md" if sections == ["host"] else "gpu.md")
    out = args.out or RESULTS / default
    out.write_text("\n".join(lines))
    out.with_suffix(".json").write_text(json.dumps(raw, indent=1, default=str))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
