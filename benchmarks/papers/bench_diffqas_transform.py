"""DiffQAS-QT search-model variants: probability feature (``scaled`` / ``asinh``) and row centring.

Runs the ``diffqas_image`` recipe with the DiffQAS-QT model alone (``configs=[]``), once per
(task, variant, seed) with the same seeds, so every variant sees the same initialisation and
batches. Variants: ``scaled`` (feature ``p * 2**n``, no row centring: the paper's raw mapping),
``asinh`` (``asinh(2**n p)``, no row centring) and ``rows`` (``scaled`` plus ``center_rows=true``:
every output unit's offset removed at the first generation; the recipe's default). Runs resume after
a kill; ``--report`` regenerates the markdown.

Writes ``benchmarks/results/diffqas_transform.{json,md}``.

    python benchmarks/papers/bench_diffqas_transform.py --seeds 0 1 2 --epochs 5
    python benchmarks/papers/bench_diffqas_transform.py --tasks fashion_1_5 fashion_5_7 --variants rows
    python benchmarks/papers/bench_diffqas_transform.py --report
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.papers.diffqas_common import (RESULTS, fmt_mean_std, load_json, read_metrics,  # noqa: E402
                                               run_or_resume, save_json)

VARIANTS = {"scaled": ["transform=scaled", "center_rows=false"], "asinh": ["transform=asinh", "center_rows=false"],
            "rows": ["transform=scaled", "center_rows=true"]}  # stated: the recipe's default is center_rows=true
TASKS = {"mnist_1_5": ("MNIST 1 vs 5", 50), "fashion_1_5": ("Fashion-MNIST 1 vs 5", 5),
         "fashion_5_7": ("Fashion-MNIST 5 vs 7", 5)}


def collect(summary: dict[str, Any]) -> dict[str, Any]:
    """Final metrics, per-epoch test accuracy, architecture and timing of the search model."""
    m = summary["models"]["diffqas"]
    curve = [r["test_acc"] for r in read_metrics(summary["run_dir"]) if r["model"] == "diffqas"]
    return {"run_dir": summary["run_dir"], "wall_time_s": summary["wall_time_s"], "train_acc": m["train_acc"],
            "test_acc": m["test_acc"], "test_loss": m["test_loss"], "seconds_per_step": m["seconds_per_step"],
            "architecture": m.get("architecture"), "test_acc_curve": curve}


@torch.no_grad()
def alive_at_start(task: str, seed: int, n_images: int = 500) -> dict[str, list[float]]:
    """Share of the MLP's hidden ReLU units (layer 1, layer 2) that fire for at least one of the first
    ``n_images`` training images, at the first generation, per variant (the DiffQAS-QT model)."""
    from qtrain.recipes import load_config
    from qtrain.recipes.diffqas.diffqas_image import build_model, load_data

    out = {}
    for v in ("scaled", "rows"):
        cfg = load_config("diffqas_image", task, ["configs=[]", *VARIANTS[v]], seed=seed)
        x = load_data(cfg).train.tensors[0][:n_images].flatten(1)
        w = build_model(cfg, "diffqas").generate()
        h1 = torch.relu(x @ w["net.1.weight"].T + w["net.1.bias"])
        h2 = h1 @ w["net.3.weight"].T + w["net.3.bias"]
        out[v] = [float((h1 > 0).any(0).float().mean()), float((h2 > 0).any(0).float().mean())]
    return out


def _keyed_by_task(data: dict[str, Any]) -> dict[str, Any]:
    """Older files keyed runs ``variant/sN`` for one task: key them ``task/variant/sN``."""
    p = data.get("protocol", {})
    if "task" in p:
        data["runs"] = {f"{p['task']}/{k}": v for k, v in data["runs"].items()}
        data["protocol"] = {"seeds": p["seeds"], "epochs": {p["task"]: p["epochs"]}}
    return data


def report(data: dict[str, Any]) -> str:
    """Markdown: per task, one row per variant (mean ± std over seeds) and every seed's test accuracy."""
    p = data["protocol"]
    lines = ["# DiffQAS-QT search-model variants: probability feature and row centring", "",
             "Protocol: `diffqas_image`, DiffQAS-QT model only (`configs=[]`), the task's epochs "
             f"({', '.join(f'{TASKS[t][0]}: {e}' for t, e in p['epochs'].items())}), seeds {p['seeds']} (the same "
             "seeds, hence the same MLP initialisation and batch order, for every variant); Adam 1e-3, batch 100, "
             "17 qubits, depth 15, 286 trainable; 1 torch thread. Variants: `scaled` = feature p 2^n, no row "
             "centring (the paper's raw mapping); `asinh` = feature asinh(2^n p), no row centring; `rows` = "
             "`scaled` with `center_rows=true` (each output unit's offset from its tensor's mean, measured at the "
             "first generation, removed for good: a fixed buffer, no trainable parameter; the recipe's default, "
             "every row of diffqas_image.md).", ""]
    for task, (name, _epochs) in TASKS.items():
        rows = []
        for v in VARIANTS:
            runs = [data["runs"][f"{task}/{v}/s{s}"] for s in p["seeds"] if f"{task}/{v}/s{s}" in data["runs"]]
            if not runs:
                continue
            per_seed = ", ".join(f"{100 * r['test_acc']:.2f}" for r in runs)
            picks = ", ".join(f"config {r['architecture']['argmax']}" for r in runs if r.get("architecture"))
            rows.append(f"| {v} | {fmt_mean_std([r['train_acc'] for r in runs], 100)} | "
                        f"{fmt_mean_std([r['test_acc'] for r in runs], 100)} | "
                        f"{fmt_mean_std([r['test_loss'] for r in runs], 1, 3)} | {per_seed} | {picks} |")
        if rows:
            lines += [f"## {name}", "", "| variant | train acc % | test acc % | test loss | test acc % per seed | "
                      "arg-max per seed |", "|---|---:|---:|---:|---|---|", *rows, ""]
        alive = [(s, data.get("alive", {}).get(f"{task}/s{s}")) for s in p["seeds"]]
        if any(a for _s, a in alive):
            lines += ["Hidden ReLU units that fire for at least one of the first 500 training images at the first "
                      "generation (layer 1 / layer 2 of 128 / 64), per seed: " + "; ".join(
                          f"seed {s}: scaled {100 * a['scaled'][0]:.0f} / {100 * a['scaled'][1]:.0f} %, rows "
                          f"{100 * a['rows'][0]:.0f} / {100 * a['rows'][1]:.0f} %" for s, a in alive if a) + ".", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", nargs="+", default=["fashion_1_5"], choices=list(TASKS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=None, help="default: the task's (MNIST 50, Fashion 5)")
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--out", type=Path, default=Path("runs/diffqas_transform"))
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--report", action="store_true", help="only regenerate the markdown")
    ap.add_argument("--alive-only", action="store_true",
                    help="only measure the live hidden units at the first generation (no training)")
    a = ap.parse_args()
    path = a.results / "diffqas_transform.json"
    data = _keyed_by_task(load_json(path, {"runs": {}, "protocol": {"seeds": a.seeds, "epochs": {}}}))
    if not a.report:
        p = data["protocol"]
        p["seeds"] = sorted(set(p["seeds"]) | set(a.seeds))
        for task in a.tasks:
            epochs = p["epochs"].setdefault(task, a.epochs or TASKS[task][1])
            for v in [] if a.alive_only else a.variants:
                for seed in a.seeds:
                    sets = [f"epochs={epochs}", "num_threads=1", "plots=false", "configs=[]", *VARIANTS[v]]
                    run = run_or_resume("diffqas_image", task, seed, sets, a.out)
                    data["runs"][f"{task}/{v}/s{seed}"] = collect(run)
                    save_json(path, data)
                    print(f"{task} {v} seed {seed} done", flush=True)
            for seed in a.seeds:
                data.setdefault("alive", {})[f"{task}/s{seed}"] = alive_at_start(task, seed)
                save_json(path, data)
    (a.results / "diffqas_transform.md").write_text(report(data))
    print(report(data))


if __name__ == "__main__":
    main()
