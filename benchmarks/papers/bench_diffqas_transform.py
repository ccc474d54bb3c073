"""DiffQAS-QT probability feature: ``asinh(2**n p)`` vs ``p * 2**n`` ("scaled"), search model only.

Runs the ``diffqas_image`` recipe on one task (default Fashion-MNIST 1 vs 5, Fig. 6) with the
DiffQAS-QT model alone (``configs=[]``), once per (transform, seed) with the same seeds, so the two
features see the same initialisation and batches. Runs resume after a kill; ``--report``
regenerates the markdown from the JSON.

Writes ``benchmarks/results/diffqas_transform.{json,md}``.

    python benchmarks/papers/bench_diffqas_transform.py --seeds 0 1 2 --epochs 5
    python benchmarks/papers/bench_diffqas_transform.py --report
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.papers.diffqas_common import (RESULTS, fmt_mean_std, load_json, read_metrics,  # noqa: E402
                                               run_or_resume, save_json)

TRANSFORMS = ("asinh", "scaled")


def collect(summary: dict[str, Any]) -> dict[str, Any]:
    """Final metrics, per-epoch test accuracy, architecture and timing of the search model."""
    m = summary["models"]["diffqas"]
    curve = [r["test_acc"] for r in read_metrics(summary["run_dir"]) if r["model"] == "diffqas"]
    return {"run_dir": summary["run_dir"], "wall_time_s": summary["wall_time_s"], "train_acc": m["train_acc"],
            "test_acc": m["test_acc"], "test_loss": m["test_loss"], "seconds_per_step": m["seconds_per_step"],
            "architecture": m.get("architecture"), "test_acc_curve": curve}


def report(data: dict[str, Any]) -> str:
    """Markdown: one row per transform (mean ± std over seeds) and every seed's test accuracy."""
    p = data["protocol"]
    lines = ["# DiffQAS-QT probability feature: asinh(2^n p) vs p 2^n (\"scaled\")", "",
             f"Protocol: `diffqas_image` preset `{p['task']}`, DiffQAS-QT model only (`configs=[]`), {p['epochs']} "
             f"epochs, seeds {p['seeds']} (the same seeds, hence the same MLP initialisation and batch order, for "
             "both features); Adam 1e-3, batch 100, 17 qubits, depth 15, 286 trainable; 1 torch thread.", "",
             "| transform | train acc % | test acc % | test loss | test acc % per seed | arg-max per seed |",
             "|---|---:|---:|---:|---|---|"]
    for t in TRANSFORMS:
        runs = [data["runs"][f"{t}/s{s}"] for s in p["seeds"] if f"{t}/s{s}" in data["runs"]]
        if not runs:
            continue
        per_seed = ", ".join(f"{100 * r['test_acc']:.2f}" for r in runs)
        picks = ", ".join(f"config {r['architecture']['argmax']}" for r in runs if r.get("architecture"))
        lines.append(f"| {t} | {fmt_mean_std([r['train_acc'] for r in runs], 100)} | "
                     f"{fmt_mean_std([r['test_acc'] for r in runs], 100)} | "
                     f"{fmt_mean_std([r['test_loss'] for r in runs], 1, 3)} | {per_seed} | {picks} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="fashion_1_5", choices=["mnist_1_5", "fashion_1_5", "fashion_5_7"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--transforms", nargs="+", default=list(TRANSFORMS), choices=list(TRANSFORMS))
    ap.add_argument("--out", type=Path, default=Path("runs/diffqas_transform"))
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--report", action="store_true", help="only regenerate the markdown")
    a = ap.parse_args()
    path = a.results / "diffqas_transform.json"
    data = load_json(path, {"runs": {}})
    if not a.report:
        data["protocol"] = {"task": a.task, "seeds": a.seeds, "epochs": a.epochs}
        for t in a.transforms:
            for seed in a.seeds:
                sets = [f"epochs={a.epochs}", "num_threads=1", "plots=false", "configs=[]", f"transform={t}"]
                data["runs"][f"{t}/s{seed}"] = collect(run_or_resume("diffqas_image", a.task, seed, sets, a.out))
                save_json(path, data)
                print(f"{t} seed {seed} done", flush=True)
    (a.results / "diffqas_transform.md").write_text(report(data))
    print(report(data))


if __name__ == "__main__":
    main()
