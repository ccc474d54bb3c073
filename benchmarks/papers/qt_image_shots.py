"""Test accuracy vs measurement shots for Quantum-Train (paper Sec. III.C), on a reduced protocol.

The paper trains with exact probabilities and only argues that shots must grow like 2**N. Here
the generator's probabilities are estimated from ``shots`` samples at every optimiser step and
QNN gradients come from the parameter-shift rule (each shifted circuit measured with the same
number of shots), for shots = 1e3 ... 1e7, next to exact probabilities with adjoint gradients.

Reduced protocol (so that parameter shift is affordable on 2 CPU cores): MNIST-5k digits
average-pooled to 7x7, target = one linear layer 49 -> 10 (500 weights -> 9 qubits, 512 basis
states), QNN = 8 x (Ry + CNOT) blocks (72 angles: one step runs the circuit 1 + 2 x 72 = 145
times), mapping 10-4-20-4-1, qtrain's fast settings (-1/+1 bits, p x 2^n, calibrated start,
Adam lr 1e-2), batch 128, ``--epochs`` epochs on 4,000 training / 1,000 test images.

Reported per shots: final test accuracy with the deployed weights (generated from one
``shots``-sample measurement), test accuracy of the same trained QNN read out exactly, and the
seconds per training step (the cost of parameter shift + sampling).

    python benchmarks/papers/qt_image_shots.py          # writes benchmarks/results/qt_image_shots.md
"""
from __future__ import annotations

import argparse
import functools
import os
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from qtrain.data import load_image_splits
from qtrain.qt import MLPMapping, QuantumTrain, count_parameters, use_shots
from qtrain.train import ShuffledBatches, seed_everything

RESULTS = Path(__file__).parent / "results" / "qt_image_shots.md"


def data(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    s = load_image_splits("mnist5k", 4000, 0, 1000, seed=seed)
    return (F.avg_pool2d(s.train.tensors[0], 4), s.train.tensors[1],  # 28x28 -> 7x7
            F.avg_pool2d(s.test.tensors[0], 4), s.test.tensors[1])


def build(shots: int | None, seed: int) -> QuantumTrain:
    seed_everything(seed)
    target = nn.Sequential(nn.Flatten(), nn.Linear(49, 10))
    qt = QuantumTrain(target, ansatz="ry_cnot", blocks=8, mapping=MLPMapping((4, 20, 4), first_activation="tanh"),
                      bits="pm1", transform="scaled", calibrate=True,
                      diff_method="parameter_shift" if shots else "adjoint")
    return use_shots(qt, shots) if shots else qt  # type: ignore[return-value]


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    acc = float((model(x).argmax(1) == y).float().mean())
    model.train()
    return acc


def exact_readout_accuracy(qt: QuantumTrain, x: torch.Tensor, y: torch.Tensor) -> float:
    """Test accuracy of the trained QNN + mapping when the probabilities are read exactly."""
    shots = qt.generator.shots
    use_shots(qt, None)
    try:
        return accuracy(qt, x, y)
    finally:
        use_shots(qt, shots)


def train_one(shots: int | None, seed: int, epochs: int) -> dict[str, float]:
    xtr, ytr, xte, yte = data(seed)
    qt = build(shots, seed)
    opt = torch.optim.Adam(qt.parameters(), lr=1e-2)
    loader = ShuffledBatches(torch.utils.data.TensorDataset(xtr, ytr), 128, seed=seed)
    times, losses = [], []
    for _ in range(epochs):
        for x, y in loader.epoch():
            t0 = time.perf_counter()
            loss = F.cross_entropy(qt(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            times.append(time.perf_counter() - t0)
            losses.append(loss.item())
    return {"test_acc": accuracy(qt, xte, yte), "exact_readout_acc": exact_readout_accuracy(qt, xte, yte),
            "s_step": statistics.median(times), "final_loss": statistics.mean(losses[-10:]),
            "trainable": count_parameters(qt).trainable}


def cnn_step_cost(shots: int, repeats: int = 3) -> tuple[float, float]:
    """Median seconds of one training step of the paper's QT-16 (13 qubits, MNIST CNN, batch 128):
    exact probabilities with adjoint gradients vs ``shots`` with parameter shift (1 + 2 x 208 circuit runs)."""
    from qtrain.models import MnistCNN

    x, y = torch.randn(128, 1, 28, 28), torch.randint(0, 10, (128,))
    out = []
    for finite in (False, True):
        seed_everything(0)
        qt = QuantumTrain(MnistCNN(), ansatz="ry_cnot", blocks=16, mapping=MLPMapping((4, 20, 4)), bits="01",
                          transform="raw", calibrate=False, diff_method="parameter_shift" if finite else "adjoint")
        if finite:
            use_shots(qt, shots)
        times = []
        for _ in range(repeats + 1):  # the first call compiles the circuit
            t0 = time.perf_counter()
            F.cross_entropy(qt(x), y).backward()
            times.append(time.perf_counter() - t0)
        out.append(statistics.median(times[1:]))
    return out[0], out[1]


def _pm(res: list[dict[str, float]], key: str, factor: float = 100.0) -> str:
    vals = [r[key] * factor for r in res]
    return f"{statistics.mean(vals):.2f} ± {(statistics.stdev(vals) if len(vals) > 1 else 0):.2f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shots", type=int, nargs="+", default=[1000, 10_000, 100_000, 1_000_000, 10_000_000])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    t0, load0 = time.perf_counter(), os.getloadavg()[0]
    rows = []
    for shots in [None, *args.shots]:
        res = [train_one(shots, s, args.epochs) for s in args.seeds]
        pm = functools.partial(_pm, res)
        rows.append(f"| {'exact (adjoint)' if shots is None else f'{shots:.0e}'} | {pm('test_acc')} | "
                    f"{pm('exact_readout_acc')} | {pm('final_loss', 1.0)} | "
                    f"{statistics.median(r['s_step'] for r in res):.3f} |")
    exact_s, shot_s = cnn_step_cost(args.shots[0])
    text = "\n".join([
        "# Quantum-Train test accuracy vs measurement shots (reduced protocol)", "",
        f"MNIST-5k pooled to 7x7 (4,000 train / 1,000 test), target Linear(49, 10) = 500 weights on 9 qubits, "
        f"8 Ry+CNOT blocks (72 angles) + mapping 233 = {res[0]['trainable']} trainable; "
        f"{args.epochs} epochs of batch 128 "
        f"({args.epochs * 32} steps), Adam lr 1e-2; seeds {args.seeds}; finite shots use parameter-shift gradients "
        "(145 shot-estimated circuit runs per step), exact uses adjoint.",
        f"Machine: 2 shared CPUs, {args.threads} torch thread(s), load average {load0:.1f} at start; total "
        f"{time.perf_counter() - t0:.0f} s.", "",
        "| shots per circuit run | test acc % (deployed weights from one measurement) | test acc % (same QNN "
        "read exactly) | mean loss, last 10 steps | median s/step |", "|---|---:|---:|---:|---:|", *rows, "",
        f"Cost on the paper's model: one forward+backward of QT-16 on the MNIST CNN (13 qubits, 208 angles, batch "
        f"128) takes {exact_s:.3f} s with exact probabilities and adjoint gradients and {shot_s:.2f} s with "
        f"{args.shots[0]} shots and parameter shift (417 circuit runs), {shot_s / exact_s:.0f}x; median of 3.", "",
        "mean ± std over seeds. Command: `python benchmarks/papers/qt_image_shots.py " + " ".join(
            f"--{k} {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in vars(args).items()
            if k != "out") + "`", ""])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
