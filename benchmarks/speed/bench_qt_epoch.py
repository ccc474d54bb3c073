"""Seconds per epoch of QT-121 vs the classical CNN on Fashion-MNIST; the 19-qubit QT-323 step.

Part 1 (Table II setting): real Fashion-MNIST batches of 128 (Debian package, ``make fashion-data``),
Adam, the same torch thread count for both models. Each case is warmed up, then timed in
``--repeats`` interleaved rounds of ``--steps`` steps; seconds per epoch are **extrapolated**:
median seconds per step x 469 steps (60,000 / 128, last batch partial), training only.

Part 1b: **measured** full epochs: every one of the 469 training batches of the 60,000 images,
then the 10,000 test images evaluated (QT generates its weights once per evaluation), the two
models alternating for ``--full-epochs`` rounds; median seconds per epoch, training only and with
the evaluation.

Part 2 (Table III setting): one training step of QT-323 (19 qubits, 323 x Ry+CNOT blocks,
mapping 20-40-200-40-1 generating the 285,226 CIFAR-10 CNN weights) and of the classical CIFAR
CNN on a batch of 1,000 synthetic 32x32 images, each in a fresh subprocess so that its peak RSS
(``VmHWM``) is its own. Reported: median seconds per step over ``--big-steps`` steps after
one warm-up step, and peak resident memory.

    python benchmarks/speed/bench_qt_epoch.py      # writes benchmarks/results/qt_image_epoch.md
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `benchmarks.speed`
from benchmarks.speed.bench_qt_step import make_stepper  # noqa: E402  (one timing loop for both benchmarks)

RESULTS = Path(__file__).resolve().parents[1] / "results" / "qt_image_epoch.md"
STEPS_PER_EPOCH = -(-60000 // 128)  # 469


def qt_model(target: nn.Module, blocks: int, hidden: tuple[int, ...]) -> nn.Module:
    """The paper's Quantum-Train configuration (Ry + CNOT, 0/1 bits, raw p, tanh after the first mapping layer)."""
    from qtrain.qt import MLPMapping, QuantumTrain

    return QuantumTrain(target, ansatz="ry_cnot", blocks=blocks, mapping=MLPMapping(hidden, first_activation="tanh"),
                        bits="01", transform="raw", calibrate=False)


def fashion_epochs(steps: int, repeats: int, warmup: int) -> list[dict[str, object]]:
    """Median s/step and extrapolated s/epoch of the classical CNN and QT-121 on Fashion-MNIST batches of 128."""
    from qtrain.data.fashion import FASHION_MEAN, FASHION_STD, find_fashion_mnist, load_mnist_format_splits
    from qtrain.models import MnistCNN
    from qtrain.qt import count_parameters

    train = load_mnist_format_splits(find_fashion_mnist(), 60000, 0, 10, 0, FASHION_MEAN, FASHION_STD).train
    x, y = train.tensors
    batches = [(x[i:i + 128], y[i:i + 128]) for i in range(0, 128 * 40, 128)]
    torch.manual_seed(0)
    models = {"classical CNN": MnistCNN(), "QT-121 ry_cnot": qt_model(MnistCNN(), 121, (4, 20, 4))}
    runs = {name: make_stepper(m, batches) for name, m in models.items()}
    for run in runs.values():
        run(warmup)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            t0 = time.perf_counter()
            run(steps)
            times[name].append((time.perf_counter() - t0) / steps)
    base = statistics.median(times["classical CNN"])
    return [{"case": name, "trainable": count_parameters(models[name]).trainable,
             "s_step": statistics.median(ts), "min_s_step": min(ts), "s_epoch": statistics.median(ts) * STEPS_PER_EPOCH,
             "ratio": statistics.median(ts) / base} for name, ts in times.items()]


def fashion_full_epochs(rounds: int) -> list[dict[str, object]]:
    """Measured seconds per full epoch (all 469 batches of 128, then the 10k test set), alternating models."""
    from qtrain.data.fashion import FASHION_MEAN, FASHION_STD, find_fashion_mnist, load_mnist_format_splits
    from qtrain.models import MnistCNN

    splits = load_mnist_format_splits(find_fashion_mnist(), 60000, 0, 10000, 0, FASHION_MEAN, FASHION_STD)
    x, y = splits.train.tensors
    xt, yt = splits.test.tensors
    order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(0))
    batches = [(x[order[i:i + 128]], y[order[i:i + 128]]) for i in range(0, x.shape[0], 128)]
    torch.manual_seed(0)
    models = {"classical CNN": MnistCNN(), "QT-121 ry_cnot": qt_model(MnistCNN(), 121, (4, 20, 4))}
    runs = {name: make_stepper(m, batches) for name, m in models.items()}
    for run in runs.values():
        run(3)
    train_s: dict[str, list[float]] = {name: [] for name in runs}
    total_s: dict[str, list[float]] = {name: [] for name in runs}
    acc: dict[str, float] = {}
    for _ in range(rounds):
        for name, run in runs.items():
            t0 = time.perf_counter()
            run(len(batches))
            t1 = time.perf_counter()
            model = models[name]
            model.eval()
            with torch.no_grad():
                correct = sum(int((model(xt[i:i + 1000]).argmax(1) == yt[i:i + 1000]).sum())
                              for i in range(0, xt.shape[0], 1000))
            model.train()
            train_s[name].append(t1 - t0)
            total_s[name].append(time.perf_counter() - t0)
            acc[name] = correct / xt.shape[0]
    base_t, base_e = statistics.median(train_s["classical CNN"]), statistics.median(total_s["classical CNN"])
    return [{"case": name, "steps": len(batches), "train_s": statistics.median(train_s[name]),
             "epoch_s": statistics.median(total_s[name]), "ratio_train": statistics.median(train_s[name]) / base_t,
             "ratio_epoch": statistics.median(total_s[name]) / base_e, "test_acc": acc[name]} for name in runs]


def _peak_rss_mib() -> float:
    """This process's peak resident memory: ``VmHWM`` (Linux; reset by exec, unlike ``ru_maxrss``, which a
    child inherits from its parent), else ``ru_maxrss``."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def big_step_child(case: str, steps: int, batch: int) -> dict[str, object]:
    """(In a fresh process) time ``steps`` CIFAR training steps of ``case``; report peak RSS."""
    from qtrain.data.cifar import CIFAR_MEAN, CIFAR_STD, synthetic_cifar_images
    from qtrain.models import CifarCNN
    from qtrain.qt import count_parameters

    rss0 = _peak_rss_mib()
    torch.manual_seed(0)
    imgs, labels = synthetic_cifar_images(batch, seed=0)
    x = (imgs.float() / 255 - torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)) / torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
    model = CifarCNN() if case == "classical" else qt_model(CifarCNN(), 323, (40, 200, 40))
    run = make_stepper(model, [(x, labels)])
    t0 = time.perf_counter()
    run(1)  # warm-up (QT: compiles the 19-qubit circuit)
    first = time.perf_counter() - t0
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        run(1)
        times.append(time.perf_counter() - t0)
    return {"case": "classical CIFAR CNN" if case == "classical" else "QT-323 ry_cnot (19 qubits)",
            "trainable": count_parameters(model).trainable, "first_s": first, "s_step": statistics.median(times),
            "min_s_step": min(times), "rss_start_mib": rss0,
            "peak_rss_mib": _peak_rss_mib()}


def big_steps(steps: int, batch: int, threads: int) -> list[dict[str, object]]:
    out = []
    for case in ("classical", "qt323"):
        cmd = [sys.executable, __file__, "--child", case, "--big-steps", str(steps), "--batch", str(batch),
               "--threads", str(threads)]
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        out.append(json.loads(res.stdout.strip().splitlines()[-1]))
    out[1]["ratio"] = out[1]["s_step"] / out[0]["s_step"]
    out[0]["ratio"] = 1.0
    return out


def to_markdown(rows: list[dict[str, object]], big: list[dict[str, object]], args: argparse.Namespace,
                load: tuple[float, float], wall: float, full: list[dict[str, object]] | None = None) -> str:
    lines = [
        "# Quantum-Train epoch cost: QT-121 vs classical on Fashion-MNIST; the 19-qubit QT-323 step", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs shared with other jobs, torch {torch.__version__}, "
        f"{args.threads} torch thread(s); 1-min load average {load[0]:.1f} before / {load[1]:.1f} after; "
        f"total {wall:.0f} s.", "",
        "## Fashion-MNIST, batch 128 (Table II setting)", "",
        f"{args.steps} steps x {args.repeats} interleaved rounds after {args.warmup} warm-up steps; **s/epoch is "
        f"extrapolated** = median s/step x {STEPS_PER_EPOCH} steps (training only, no evaluation).", "",
        "| model | trainable | median s/step | min s/step | s/epoch (extrapolated) | ratio to classical |",
        "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['case']} | {r['trainable']:,} | {r['s_step']:.4f} | {r['min_s_step']:.4f} | {r['s_epoch']:.1f} | "
              f"{r['ratio']:.2f}x |" for r in rows]
    if full:
        lines += ["", f"### Measured full epochs ({args.full_epochs} rounds, models alternating)", "",
                  f"Each epoch: all {full[0]['steps']} training batches of 128 (60,000 images, shuffled once), then "
                  "the 10,000 test images in batches of 1,000. Median over rounds. The test accuracy after the rounds "
                  "only shows that both loops train (timing setup: Adam 1e-3 for both, QT without calibration, "
                  "a few epochs); accuracy results are in qt_image_results.md.", "",
                  "| model | training s/epoch | ratio | training + evaluation s/epoch | ratio "
                  "| test acc. after the rounds |",
                  "|---|---:|---:|---:|---:|---:|"]
        lines += [f"| {r['case']} | {r['train_s']:.1f} | {r['ratio_train']:.2f}x | {r['epoch_s']:.1f} | "
                  f"{r['ratio_epoch']:.2f}x | {100 * r['test_acc']:.1f}% |" for r in full]
    lines += ["", f"## CIFAR-10 CNN, batch {args.batch} (Table III setting), one fresh process per model", "",
              f"Median of {args.big_steps} steps after one warm-up step; peak RSS = the process's VmHWM "
              "(includes Python + torch + the batch, shown after imports too).", "",
              "| model | trainable | warm-up step s | median s/step | ratio to classical | RSS after imports MiB | "
              "peak RSS MiB |", "|---|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['case']} | {r['trainable']:,} | {r['first_s']:.2f} | {r['s_step']:.2f} | {r['ratio']:.1f}x | "
              f"{r['rss_start_mib']:.0f} | {r['peak_rss_mib']:.0f} |" for r in big]
    lines += ["", "Command: `python benchmarks/speed/bench_qt_epoch.py " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k not in ("out", "child")) + "`"]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--steps", type=int, default=10, help="Fashion-MNIST: steps per timed round")
    p.add_argument("--repeats", type=int, default=5, help="Fashion-MNIST: timed rounds (median reported)")
    p.add_argument("--warmup", type=int, default=3, help="Fashion-MNIST: warm-up steps per model")
    p.add_argument("--full-epochs", type=int, default=3, help="Fashion-MNIST: measured full epochs per model (0: skip)")
    p.add_argument("--big-steps", type=int, default=3, help="CIFAR: timed steps per model")
    p.add_argument("--batch", type=int, default=1000, help="CIFAR: batch size (paper: 1,000)")
    p.add_argument("--out", type=Path, default=RESULTS, help="markdown file to write")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        print(json.dumps(big_step_child(args.child, args.big_steps, args.batch)))
        return
    t0, before = time.perf_counter(), os.getloadavg()[0]
    rows = fashion_epochs(args.steps, args.repeats, args.warmup)
    full = fashion_full_epochs(args.full_epochs) if args.full_epochs else None
    big = big_steps(args.big_steps, args.batch, args.threads)
    text = to_markdown(rows, big, args, (before, os.getloadavg()[0]), time.perf_counter() - t0, full)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
