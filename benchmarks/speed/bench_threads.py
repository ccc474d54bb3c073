"""The thread policy measured: torch's default thread count vs one thread vs ``qtrain.set_threads("auto")``.

Three small workloads of the Quantum-Train recipes, each timed per call (median of interleaved
rounds, so that load from other processes hits every thread count alike), in one process:

* the simulator alone: probabilities of ``ry_cnot`` 13 qubits x 16 blocks, forward + adjoint backward;
* a Quantum-Train training step (QT-16, the 6,690-weight MNIST CNN, a batch of 128 random images);
* the classical step of the same CNN.

Writes ``benchmarks/results/threads.md`` with the 1-minute load average before and after; the
ratio column is each thread count's time over torch's default on the same workload.

    python benchmarks/speed/bench_threads.py                 # default, 1, auto
    python benchmarks/speed/bench_threads.py --rounds 9 --calls 20
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

from qtrain.models import MnistCNN
from qtrain.qt import MLPMapping, QuantumTrain
from qtrain.sim import ansatz
from qtrain.threads import available_cpus, load_average, recommended_threads

RESULTS = Path(__file__).resolve().parents[1] / "results" / "threads.md"


def workloads() -> dict[str, Callable[[], None]]:
    """Name -> one call of the workload (state built once here)."""
    torch.manual_seed(0)
    cc = ansatz.ry_cnot(13, blocks=16).compile(diff_method="adjoint")
    w = torch.rand(cc.n_params, requires_grad=True)
    c = torch.rand(2**13)

    def sim() -> None:
        (cc.probs(w)[0] * c).sum().backward()

    x, y = torch.randn(128, 1, 28, 28), torch.randint(0, 10, (128,))

    def stepper(model: torch.nn.Module) -> Callable[[], None]:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def step() -> None:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return step

    qt = QuantumTrain(MnistCNN(relu=True), ansatz="ry_cnot", blocks=16, mapping=MLPMapping((4, 20, 4)),
                      bits="01", transform="raw")
    return {"sim ry_cnot 13x16, probs fwd+bwd": sim, "QT-16 training step (batch 128)": stepper(qt),
            "classical CNN step (batch 128)": stepper(MnistCNN(relu=True))}


def measure(settings: dict[str, int], calls: int, rounds: int, warmup: int) -> dict[tuple[str, str], list[float]]:
    """(workload, setting) -> seconds per call of each round; rounds interleave the settings."""
    loads = workloads()
    times: dict[tuple[str, str], list[float]] = {}
    for label, threads in settings.items():
        torch.set_num_threads(threads)
        for fn in loads.values():
            for _ in range(warmup):
                fn()
    for _ in range(rounds):
        for label, threads in settings.items():
            torch.set_num_threads(threads)
            for name, fn in loads.items():
                t0 = time.perf_counter()
                for _ in range(calls):
                    fn()
                times.setdefault((name, label), []).append((time.perf_counter() - t0) / calls)
    return times


def markdown(times: dict[tuple[str, str], list[float]], settings: dict[str, int], load: tuple, args: argparse.Namespace,
             ) -> str:
    names = list(dict.fromkeys(n for n, _ in times))
    lines = ["# Thread policy: torch's default vs one thread vs `qtrain.set_threads(\"auto\")`", "",
             f"Machine: {platform.machine()}, {available_cpus()} usable CPUs, torch {torch.__version__}; "
             f"1-minute load average {load[0]:.1f} before / {load[1]:.1f} after (other processes share the CPUs). "
             f"{args.calls} calls x {args.rounds} interleaved rounds after {args.warmup} warm-up calls; median ms "
             "per call.", "",
             "| workload | " + " | ".join(f"{k} ({v} thr.)" for k, v in settings.items()) + " | "
             + " | ".join(f"{k} / default" for k in settings if k != "default") + " |",
             "|---|" + "---:|" * (2 * len(settings) - 1)]
    for name in names:
        med = {k: statistics.median(times[(name, k)]) for k in settings}
        lines.append(f"| {name} | " + " | ".join(f"{1e3 * med[k]:.2f}" for k in settings) + " | "
                     + " | ".join(f"{med[k] / med['default']:.2f}x" for k in settings if k != "default") + " |")
    lines += ["", "Policy: recipes take `num_threads` from their presets (1 for the small protocols); library users "
              "call `qtrain.set_threads(1)` for circuits up to ~16 qubits and small models on a shared machine, "
              "`qtrain.set_threads(\"auto\")` (idle cores = CPUs - round(load average)) otherwise; `qtrain sweep "
              "--jobs N` gives each worker one thread.",
              f"Command: `python benchmarks/speed/bench_threads.py --calls {args.calls} --rounds {args.rounds} "
              f"--warmup {args.warmup}`", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10, help="calls per timed round")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (median reported)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up calls per setting and workload")
    parser.add_argument("--out", default=str(RESULTS), help="markdown file to write")
    args = parser.parse_args(argv)
    before = load_average() or float("nan")
    settings = {"default": torch.get_num_threads(), "1 thread": 1, "auto": recommended_threads()}
    times = measure(settings, args.calls, args.rounds, args.warmup)
    text = markdown(times, settings, (before, load_average() or float("nan")), args)
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
