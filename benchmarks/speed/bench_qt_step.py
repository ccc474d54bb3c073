"""Seconds per training step: Quantum-Train vs classical training of the same MNIST CNN.

One process, same data (real MNIST-5k batches of 128), same optimizer (Adam), same torch thread
count. Each case is warmed up, then timed in ``--repeats`` rounds of ``--steps`` steps; rounds of
the different cases are interleaved so that load from other processes hits them alike. Reported:
median seconds per step and the ratio to the classical step.

References: the QET paper reports Quantum-Train epochs 6-9x slower than classical ones; the
official Quantum-Train notebook (MNIST, L16, GPU) takes 0.41-0.42 s per batch of 128.

    python benchmarks/speed/bench_qt_step.py           # writes benchmarks/results/qt_step.md
    python benchmarks/speed/bench_qt_step.py --threads 2 --repeats 9
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from qtrain.data import load_image_splits
from qtrain.models import MnistCNN
from qtrain.qt import MLPMapping, QuantumTrain, count_parameters

RESULTS = Path(__file__).resolve().parents[1] / "results" / "qt_step.md"


def cases() -> dict[str, Callable[[], nn.Module]]:
    """Name -> model factory (all wrap the same 6,690-parameter CNN with ReLU)."""
    def qt(ansatz: str, blocks: int, **kw: object) -> Callable[[], nn.Module]:
        return lambda: QuantumTrain(MnistCNN(relu=True), ansatz=ansatz, blocks=blocks,
                                    mapping=MLPMapping((4, 20, 4)), calibrate=True, **kw)  # type: ignore[arg-type]
    return {
        "classical CNN": lambda: MnistCNN(relu=True),
        "QT-16 ry_cnot (Table I)": qt("ry_cnot", 16, bits="01", transform="raw"),
        "QT-106 ry_cnot (Table I)": qt("ry_cnot", 106, bits="01", transform="raw"),
        "QT-16 u3_cu3 (official code)": qt("u3_cu3", 16, bits="pm1", transform="tanh_power"),
    }


def make_stepper(model: nn.Module, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> Callable[[int], None]:
    """A function running ``n`` training steps over ``batches`` (cycled)."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    state = {"i": 0}

    def steps(n: int) -> None:
        for _ in range(n):
            x, y = batches[state["i"] % len(batches)]
            state["i"] += 1
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return steps


def make_generator_stepper(model: nn.Module) -> Callable[[int], None] | None:
    """Generation alone (circuit + mapping, forward and backward): the Quantum-Train overhead."""
    if not isinstance(model, QuantumTrain):
        return None

    def steps(n: int) -> None:
        for _ in range(n):
            model.generator().sum().backward()
    return steps


def _timed(run: Callable[[int], None], steps: int) -> float:
    t0 = time.perf_counter()
    run(steps)
    return (time.perf_counter() - t0) / steps


def measure(threads: int, steps: int, repeats: int, warmup: int) -> list[dict[str, object]]:
    """Median seconds per step of every case at ``threads`` torch threads."""
    torch.set_num_threads(threads)
    train = load_image_splits("mnist5k", 4000, 0, 1000, seed=0).train
    x, y = train.tensors
    batches = [(x[i:i + 128], y[i:i + 128]) for i in range(0, 4000 - 127, 128)]
    torch.manual_seed(0)
    models = {name: make() for name, make in cases().items()}
    steppers = {name: make_stepper(m, batches) for name, m in models.items()}
    gen_steppers = {name: make_generator_stepper(m) for name, m in models.items()}
    for run in steppers.values():
        run(warmup)
    times: dict[str, list[float]] = {name: [] for name in steppers}
    gen_times: dict[str, list[float]] = {name: [] for name in steppers}
    for _ in range(repeats):
        for name, run in steppers.items():
            times[name].append(_timed(run, steps))
            gen = gen_steppers[name]
            if gen is not None:
                gen_times[name].append(_timed(gen, steps))
    base = statistics.median(times["classical CNN"])
    return [{"case": name, "threads": threads, "trainable": count_parameters(models[name]).trainable,
             "median_s": statistics.median(ts), "min_s": min(ts), "ratio": statistics.median(ts) / base,
             "gen_s": statistics.median(gen_times[name]) if gen_times[name] else None}
            for name, ts in times.items()]


def to_markdown(rows: list[dict[str, object]], args: argparse.Namespace, load: tuple[float, float]) -> str:
    head = ["# Quantum-Train vs classical: seconds per training step (MNIST CNN, batch 128)", "",
            f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}; "
            f"{args.steps} steps x {args.repeats} interleaved rounds after {args.warmup} warm-up steps; "
            f"1-min load average {load[0]:.1f} before / {load[1]:.1f} after (other processes share the CPUs).", "",
            "| case | threads | trainable | median s/step | min s/step | ratio to classical | "
            "generation alone (fwd+bwd) s |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    body = [f"| {r['case']} | {r['threads']} | {r['trainable']:,} | {r['median_s']:.4f} | {r['min_s']:.4f} | "
            f"{r['ratio']:.2f}x | {'-' if r['gen_s'] is None else format(r['gen_s'], '.4f')} |" for r in rows]
    foot = ["", "Target: ratio <= 1.5x. References: QET paper 6-9x per epoch; official code 0.42 s/batch of 128 (GPU).",
            "Command: `python benchmarks/speed/bench_qt_step.py " + " ".join(
                f"--{k} {v}" if not isinstance(v, list) else f"--{k} {' '.join(map(str, v))}"
                for k, v in vars(args).items() if k != "out") + "`"]
    return "\n".join(head + body + foot) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1], help="torch thread counts to measure")
    p.add_argument("--steps", type=int, default=10, help="steps per timed round")
    p.add_argument("--repeats", type=int, default=7, help="timed rounds (median reported)")
    p.add_argument("--warmup", type=int, default=5, help="untimed warm-up steps per case")
    p.add_argument("--out", type=Path, default=RESULTS, help="markdown file to write")
    args = p.parse_args()
    before = os.getloadavg()[0]
    rows = [r for t in args.threads for r in measure(t, args.steps, args.repeats, args.warmup)]
    text = to_markdown(rows, args, (before, os.getloadavg()[0]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
