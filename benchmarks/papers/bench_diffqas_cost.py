"""DiffQAS-QT cost: one training step with all 12 candidates vs one step of each fixed configuration.

The issue's target: one DiffQAS step (12 candidates) <= 3x the time of one fixed-configuration step,
measured in the same run. Every model of a task trains on the same batch with the same optimizer;
the models are timed in interleaved rounds (the same machine load for all), ``--steps`` steps per
round after a warm-up (compilation excluded), and the median seconds per step over rounds is kept.

Fixed configurations are timed twice: with DiffQAS-QT's exact shortcuts (``config k``: angle-free
candidates in closed form, H + Ry as a shifted first layer, no-H Rx as two Walsh-Hadamard
transforms) and as the literal circuit a plain Quantum-Train model would simulate (``config k literal``).

Tasks (the paper's sizes): ``image`` (MLP 784-128-64-2, 17 qubits, depth 15, batch 100, Adam),
``series`` (LSTM 1,781, 11 qubits, depth 10, batch 10, RMSprop), ``rl`` (actor 147-32-32-7 and
critic 147-32-32-1, 13 qubits, depth 10, a 5-step A3C update). Rows: ``DiffQAS`` (grouped engine),
``DiffQAS batched`` (one per-sample simulation of all candidates; ``--batched``), configs 1-12 and
the classical network. Writes ``benchmarks/results/diffqas_cost.{json,md}``.

    python benchmarks/papers/bench_diffqas_cost.py                  # ~5 min on 2 shared cores
    python benchmarks/papers/bench_diffqas_cost.py --tasks series --rounds 9 --batched
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from qtrain.models import SeriesLSTM, actor_mlp, critic_mlp, image_mlp
from qtrain.qt import DiffQASTrain, count_parameters

RESULTS = Path(__file__).resolve().parents[1] / "results"
TARGET = 3.0


def _models(task: str, batched: bool) -> dict[str, Callable[[], nn.Module | tuple[nn.Module, nn.Module]]]:
    make, depth = {"image": (image_mlp, 15), "series": (SeriesLSTM, 10), "rl": (None, 10)}[task]

    def qt(target: nn.Module, cands: tuple[int, ...] | None, engine: str = "grouped") -> DiffQASTrain:
        return DiffQASTrain(target, depth=depth, candidates=cands, engine=engine)

    def build(cands: tuple[int, ...] | None, engine: str = "grouped") -> Callable[[], Any]:
        if task == "rl":
            return lambda: (qt(actor_mlp(), cands, engine), qt(critic_mlp(), cands, engine))
        return lambda: qt(make(), cands, engine)

    rows: dict[str, Callable[[], Any]] = {"DiffQAS": build(None)}
    if batched:
        rows["DiffQAS batched"] = build(None, "batched")
    rows.update({f"config {k}": build((k,)) for k in range(1, 13)})
    # what a plain Quantum-Train user would run: the literal circuit, angle-free configurations simulated too
    rows.update({f"config {k} literal": build((k,), "separate") for k in range(1, 13)})
    rows["classical"] = (lambda: (actor_mlp(), critic_mlp())) if task == "rl" else make
    return rows


def _step_fn(task: str, model: Any) -> Callable[[], None]:
    g = torch.Generator().manual_seed(0)
    if task == "image":
        x, y = torch.randn(100, 1, 28, 28, generator=g), torch.randint(0, 2, (100,), generator=g)
        opt = torch.optim.Adam(model.parameters(), 1e-3)
        loss_fn = lambda: F.cross_entropy(model(x), y)  # noqa: E731
    elif task == "series":
        x, y = torch.randn(10, 4, 1, generator=g), torch.randn(10, 1, generator=g)
        opt = torch.optim.RMSprop(model.parameters(), 0.01, alpha=0.99, eps=1e-8)
        loss_fn = lambda: F.mse_loss(model(x), y)  # noqa: E731
    else:  # one A3C update: 5 observations, policy + value losses, both networks
        actor, critic = model
        obs, act, ret = torch.rand(5, 147, generator=g), torch.randint(0, 7, (5,), generator=g), torch.rand(5, 1)
        opt = torch.optim.Adam([*actor.parameters(), *critic.parameters()], 1e-4, betas=(0.92, 0.999))

        def loss_fn() -> torch.Tensor:
            adv = ret - critic(obs)
            logp = torch.log_softmax(actor(obs), 1).gather(1, act[:, None])
            return (adv.pow(2) - logp * adv.detach()).mean()

    def step() -> None:
        loss = loss_fn()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def _trainable(model: Any) -> int:
    parts = model if isinstance(model, tuple) else (model,)
    return sum(count_parameters(m).trainable for m in parts)


def time_task(task: str, rounds: int, steps: int, batched: bool) -> dict[str, Any]:
    """Median seconds per step of every row, interleaved over ``rounds``."""
    torch.manual_seed(0)
    built = {name: make() for name, make in _models(task, batched).items()}
    steps_of = {name: _step_fn(task, m) for name, m in built.items()}
    for fn in steps_of.values():  # warm-up: compile circuits, allocate optimizer state
        fn()
        fn()
    times: dict[str, list[float]] = {name: [] for name in built}
    for _ in range(rounds):
        for name, fn in steps_of.items():
            t0 = time.perf_counter()
            for _ in range(steps):
                fn()
            times[name].append((time.perf_counter() - t0) / steps)
    med = {name: statistics.median(ts) for name, ts in times.items()}
    fixed = [med[f"config {k}"] for k in range(1, 13)]
    return {"seconds_per_step": med, "trainable": {n: _trainable(m) for n, m in built.items()},
            "ratio_vs_each_config": {f"config {k}": med["DiffQAS"] / med[f"config {k}"] for k in range(1, 13)},
            "ratio_vs_mean_config": med["DiffQAS"] / statistics.mean(fixed),
            "ratio_vs_slowest_config": med["DiffQAS"] / max(fixed),
            "ratio_vs_fastest_config": med["DiffQAS"] / min(fixed),
            "ratio_vs_mean_literal": med["DiffQAS"] / statistics.mean(med[f"config {k} literal"] for k in range(1, 13))}


def within_literal(med: dict[str, float]) -> int:
    """How many literal fixed-configuration steps the DiffQAS step is within ``TARGET`` times of."""
    return sum(med["DiffQAS"] <= TARGET * med[f"config {k} literal"] for k in range(1, 13))


def report(data: dict[str, Any]) -> str:
    """The markdown of ``diffqas_cost.md``."""
    proto = data["protocol"]
    lines = ["# DiffQAS-QT cost: one step with 12 candidates vs one fixed-configuration step", "",
             f"Protocol: {proto['rounds']} interleaved rounds x {proto['steps']} steps per row after a warm-up, "
             f"median seconds per training step; torch threads {proto['threads']}; {proto['machine']}.",
             f"Target (issue 14): DiffQAS step <= {TARGET:g}x one fixed-configuration step.", ""]
    for task, res in data["tasks"].items():
        med, ratio = res["seconds_per_step"], res["ratio_vs_each_config"]
        lines += [f"## {task}", "", "| model | trainable | ms / step | DiffQAS / model |", "|---|---:|---:|---:|"]
        for name, s in med.items():
            r = f"{med['DiffQAS'] / s:.2f}" if name != "DiffQAS" else ""
            lines.append(f"| {name} | {res['trainable'][name]:,} | {1000 * s:.2f} | {r} |")
        hits = [k for k, r in ratio.items() if r <= TARGET]
        lines += ["", f"DiffQAS / mean of the 12 fixed configurations: **{res['ratio_vs_mean_config']:.2f}x**; "
                      f"vs the slowest: {res['ratio_vs_slowest_config']:.2f}x; vs the fastest: "
                      f"{res['ratio_vs_fastest_config']:.2f}x. Within {TARGET:g}x of: "
                      f"{', '.join(hits) if hits else 'none'}. DiffQAS / mean of the 12 literal circuits (the "
                      f"configuration simulated as written, as plain Quantum-Train would): "
                      f"{res['ratio_vs_mean_literal']:.2f}x; within {TARGET:g}x of {within_literal(med)} of the 12 "
                      f"literal circuits.", ""]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", nargs="+", default=["image", "series", "rl"], choices=["image", "series", "rl"])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batched", action="store_true", help="also time the one-simulation batched engine")
    ap.add_argument("--results", type=Path, default=RESULTS)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    path = a.results / "diffqas_cost.json"
    data = json.loads(path.read_text()) if path.is_file() else {"tasks": {}}
    data["protocol"] = {"rounds": a.rounds, "steps": a.steps, "threads": a.threads,
                        "machine": f"{platform.machine()}, torch {torch.__version__}"}
    for task in a.tasks:
        data["tasks"][task] = time_task(task, a.rounds, a.steps, a.batched)
        print(task, {k: round(v, 2) for k, v in data["tasks"][task]["ratio_vs_each_config"].items()}, flush=True)
    a.results.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")
    (a.results / "diffqas_cost.md").write_text(report(data))
    print(report(data))


if __name__ == "__main__":
    main()
