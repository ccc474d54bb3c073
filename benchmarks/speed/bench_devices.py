"""Device, precision and data-parallel check of every recipe, against the CPU measured in the same run.

    PYTHONPATH=$PWD/src python benchmarks/speed/bench_devices.py                  # on a GPU machine
    PYTHONPATH=$PWD/src python benchmarks/speed/bench_devices.py --device cpu    # the CPU paths only

Part 1 runs each recipe's smoke preset (cut to a few steps) on ``--device`` in float32 and bf16 (and fp16 on
CUDA) and compares its last training loss with the same run on the CPU in float32: float32 on CUDA should
agree to ~1e-4, bf16/fp16 to a few percent; a recipe that refuses an option shows its one-line reason.
Part 2 trains tiny Quantum-Train models (qt_image QT-16 and a QT-121) in 1 process and in ``--nproc``
processes (gloo on the CPU, NCCL on GPUs) on the same global batches: largest weight difference, bytes
all-reduced per step (4 x trainable parameters expected) and seconds per step of each. Writes
``benchmarks/results/devices.md`` with the commit, versions and device.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from qtrain import recipes
from qtrain.recipes.registry import recipe_names
from qtrain.train import load_checkpoint
from qtrain.train.environment import run_environment

RESULTS = Path(__file__).resolve().parents[1] / "results" / "devices.md"
SMOKE = {  # recipe -> (preset, overrides): a few steps each
    "qt_image": ("mnist_qt16", ["max_steps=4", "n_train=256", "n_val=0", "n_test=100", "batch_size=64",
                                "n_eval_train=0", "plots=false", "select=last"]),
    "qet_amc": ("smoke", ["max_steps=4"]),
    "pilot_assignment": ("smoke", ["max_steps=4"]),
    "v2x_qcnn": ("smoke", ["max_steps=4", "epochs=1"]),
    "v2x_semantic": ("smoke", ["max_steps=4", "epochs=1"]),
    "v2x_fusion": ("smoke", ["max_steps=4", "epochs=1"]),
    "v2x_transfer": ("smoke", ["max_steps=4", "epochs=1"]),
    "v2x_federated": ("smoke", ["rounds=1"]),
    "diffqas_image": ("smoke", []),
    "diffqas_series": ("smoke", []),
    "diffqas_rl": ("smoke", ["workers=1"]),
}
DDP = {"QT-16": ["blocks=16"], "QT-121": ["blocks=121"]}
DDP_SETS = ["models=qt", "max_steps=6", "n_train=1024", "n_val=0", "n_test=100", "batch_size=128", "center=false",
            "n_eval_train=0", "plots=false", "select=last"]


def _last_loss(run_dir: Path) -> float | None:
    records = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    losses = [r["train_loss"] for r in records if "train_loss" in r]
    return losses[-1] if losses else None


def _run(recipe: str, preset: str, sets: list[str], out: Path, nproc: int = 1) -> tuple[Any, float]:
    t0 = time.perf_counter()
    res = recipes.run(recipe, preset, sets, out=out, quiet=True, nproc=nproc)
    return res, time.perf_counter() - t0


def check_recipes(device: str, out: Path) -> list[dict[str, Any]]:
    """Part 1: one row per recipe and precision."""
    rows = []
    precisions = ["float32", "bf16"] + (["fp16"] if device.startswith("cuda") else [])
    for recipe in recipe_names():
        if recipe not in SMOKE:
            continue
        preset, sets = SMOKE[recipe]
        ref, _ = _run(recipe, preset, [*sets, "num_threads=1"], out)
        for precision in precisions:
            row = {"recipe": recipe, "precision": precision, "cpu float32 loss": _last_loss(ref.run_dir)}
            try:
                res, wall = _run(recipe, preset, [*sets, f"device={device}", f"precision={precision}"], out)
            except ValueError as exc:
                rows.append({**row, "note": f"refused: {exc}"})
                continue
            loss = _last_loss(res.run_dir)
            diff = None if loss is None or row["cpu float32 loss"] is None else loss - row["cpu float32 loss"]
            rows.append({**row, "loss": loss, "diff": diff, "s": round(wall, 2)})
    return rows


def check_ddp(device: str, nproc: int, out: Path) -> list[dict[str, Any]]:
    """Part 2: 1 process vs ``nproc`` processes, same global batches."""
    rows = []
    for name, extra in DDP.items():
        sets = [*DDP_SETS, *extra, f"device={device}"]
        one, wall1 = _run("qt_image", "mnist_qt16", sets, out)
        many, wall_n = _run("qt_image", "mnist_qt16", sets, out, nproc=nproc)
        a, b = (load_checkpoint(r.run_dir / "checkpoints" / "qt" / "last.pt")["model"] for r in (one, many))
        diff = max(float((a[k].double() - b[k].double()).abs().max()) for k in a if a[k].is_floating_point())
        rec = json.loads((many.run_dir / "metrics.jsonl").read_text().splitlines()[-1])
        steps = one.summary["models"]["qt"]["steps"]
        rows.append({"model": name, "trainable": one.summary["models"]["qt"]["params"]["trainable"],
                     "bytes/step": rec.get("allreduce_bytes_per_step"), "max abs dw": diff,
                     "s/step 1 proc": one.summary["models"]["qt"]["train_time_s"] / steps,
                     f"s/step {nproc} proc": rec["epoch_time_s"] / steps, "wall 1": wall1, f"wall {nproc}": wall_n})
    return rows


def markdown(rows: list[dict[str, Any]]) -> list[str]:
    """A markdown table of ``rows`` (the union of their keys, in first-seen order; ``-`` for missing)."""
    cols = list(dict.fromkeys(k for r in rows for k in r))
    show = lambda v: "-" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
    return ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)] + [
        "| " + " | ".join(show(r.get(c)) for c in cols) + " |" for r in rows]


def main(argv: list[str] | None = None) -> int:
    """Run both parts and write ``benchmarks/results/devices.md``; exit 2 without the asked-for device."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--nproc", type=int, default=None,
                    help="processes of part 2 (default: the GPUs visible, or 2 on the CPU)")
    ap.add_argument("--only", choices=["recipes", "ddp"], default=None)
    args = ap.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"bench_devices: no CUDA device (torch {torch.__version__}); use --device cpu for the CPU paths",
              file=sys.stderr)
        return 2
    nproc = args.nproc or (torch.cuda.device_count() if args.device.startswith("cuda") else 2)
    env = run_environment(device=args.device)
    lines = ["# Devices, precision and data-parallel training", "",
             f"commit {env['git']['commit']} (dirty: {env['git']['dirty']}), torch {env['versions']['torch']}, "
             f"device {env.get('cuda_device', args.device)}; `python benchmarks/speed/bench_devices.py "
             f"--device {args.device}`", ""]
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "recipes"):
            lines += ["## Every recipe's smoke run on the device vs the CPU in float32", "",
                      *markdown(check_recipes(args.device, Path(tmp))), ""]
        if args.only in (None, "ddp") and nproc < 2:
            lines += [f"Data parallelism not measured: {nproc} GPU visible (NCCL needs one GPU per process).", ""]
        elif args.only in (None, "ddp"):
            lines += [f"## Quantum-Train on 1 vs {nproc} processes (same global batches)", "",
                      *markdown(check_ddp(args.device, nproc, Path(tmp))), ""]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
