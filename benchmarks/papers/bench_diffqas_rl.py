"""DiffQAS-QT paper, Figs. 13-14: A3C on MiniGrid-Empty, DiffQAS-QT vs configs 1-12 vs classical A3C.

Every environment runs the ``diffqas_rl`` recipe with its preset (``empty5x5`` / ``empty6x6``: the
search, configs 1-12 and the classical networks, each its own A3C run) and one stated protocol for
all rows (episodes, workers, window); runs resume after a kill. ``--report`` regenerates the outputs.

Writes ``benchmarks/results/diffqas_rl.{json,md}`` (final mean return over the last ``window``
episodes, episodes to solve, minutes, for every row; DiffQAS-QT, the best fixed configuration and the
classical A3C first) and ``diffqas_rl_<env>.png`` (moving average +- std of the returns).

    python benchmarks/papers/bench_diffqas_rl.py --envs empty5x5 --episodes 600 --configs --seeds 0 1
    python benchmarks/papers/bench_diffqas_rl.py --report
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.papers.diffqas_common import (RESULTS, add_variant_args, fmt_mean_std, load_json,  # noqa: E402
                                               merge_runs, run_or_resume, save_json)

ENVS = {"empty5x5": ("MiniGrid-Empty-5x5-v0", "Fig. 13", 0.955),
        "empty6x6": ("MiniGrid-Empty-6x6-v0", "Fig. 14", 0.95625)}


def collect(summary: dict[str, Any]) -> dict[str, Any]:
    """Returns, statistics, counts and architectures of every model of one run."""
    keep = ("returns", "final_mean_return", "final_std_return", "episodes_to_solve", "train_time_s", "architecture")
    models = {tag: {**{k: m.get(k) for k in keep}, "trainable": m["params"]["trainable"]}
              for tag, m in summary["models"].items()}
    cfg = summary["config"]
    return {"run_dir": summary["run_dir"], "wall_time_s": summary["wall_time_s"], "window": cfg["window"],
            "solve_return": cfg["solve_return"], "episodes": cfg["episodes"], "workers": cfg["workers"],
            "models": models}


def _label(tag: str) -> str:
    return {"diffqas": "DiffQAS-QT", "classical": "classical A3C"}.get(tag, f"config {tag[6:]}")


def _rows(runs: list[dict[str, Any]]) -> list[str]:
    """Tags in report order: DiffQAS-QT, the best fixed configuration, classical A3C, the other configurations."""
    tags = list(dict.fromkeys(t for r in runs for t in r["models"]))
    fixed = [t for t in tags if t.startswith("config")]
    best = max(fixed, key=lambda t: np.mean([r["models"][t]["final_mean_return"] for r in runs if t in r["models"]]),
               default=None)
    head = [t for t in ("diffqas", best, "classical") if t in tags]
    return head + [t for t in tags if t not in head]


def report(data: dict[str, Any]) -> str:
    """Markdown: per environment, one row per model (mean ± std over seeds) and every seed's numbers."""
    lines = ["# DiffQAS-QT, reinforcement learning (paper Figs. 13-14): ours", ""]
    for key, (env, fig, optimum) in ENVS.items():
        runs = [r for k, r in sorted(data["runs"].items()) if k.split("/")[0] == key]
        if not runs:
            continue
        r0, seeds = runs[0], [r.get("seed", 0) for r in runs]
        lines += [f"## {env} ({fig}; paper: curves only, 50,000 episodes, 16 workers)", "",
                  f"Protocol (all rows alike): A3C, {r0['workers']} workers, {r0['episodes']} episodes per row"
                  + "".join(f", `{o}`" for o in r0.get("overrides", [])) + ", "
                  f"gamma 0.9, updates every 5 steps, shared Adam 1e-4 (0.92, 0.999), seeds {seeds}"
                  f"{' (fewer than 3: the time budget)' if len(runs) < 3 else ''}; final return = mean over the last "
                  f"{r0['window']} episodes; solved = the moving average over {r0['window']} episodes first reaches "
                  f"{r0['solve_return']} (optimal return {optimum}). Mean ± std over seeds.", "",
                  "| model | trainable | final mean return | per seed | episodes to solve per seed | minutes per run |",
                  "|---|---:|---:|---|---|---:|"]
        order = _rows(runs)
        best = next((t for t in order if t.startswith("config")), None)
        for tag in order:
            got = [r["models"][tag] for r in runs if tag in r["models"]]
            finals = [g["final_mean_return"] for g in got]
            name = _label(tag) + (" (best fixed)" if tag == best and len(order) > 3 else "")
            solve = ", ".join(str(g["episodes_to_solve"] or "-") for g in got)
            lines.append(f"| {name} | {got[0]['trainable']:,} | {fmt_mean_std(finals, 1, 3)} | "
                         f"{', '.join(f'{f:.3f}' for f in finals)} | {solve} | "
                         f"{np.mean([g['train_time_s'] for g in got]) / 60:.1f} |")
        picks = "; ".join(f"seed {r.get('seed', 0)} {part}: config {a['argmax']} ({a['argmax_label']})" for r in runs
                          for part, a in (r["models"].get("diffqas", {}).get("architecture") or {}).items() if a)
        walls = ", ".join(f"{r['wall_time_s'] / 60:.0f}" for r in runs)
        lines += ["", f"\"-\": not solved within the budget. DiffQAS-QT arg-max architectures: {picks}. "
                      f"Whole run per seed: {walls} min (1 thread per worker, shared machine).", ""]
    return "\n".join(lines) + "\n"


def figures(data: dict[str, Any], folder: Path, stem: str = "diffqas_rl") -> None:
    """``diffqas_rl_<env>.png``: moving average +- std of every row's returns."""
    from qtrain.recipes.diffqas.figures import plot_returns

    for key, r in data["runs"].items():  # one figure per (environment, seed)
        curves = {_label(t): m["returns"] for t, m in r["models"].items()}
        env = key.split("/")[0]
        name = key.replace("/", "_")
        plot_returns(curves, folder / f"{stem}_{name}.png", r["window"], f"ours: {ENVS[env][0]}, A3C, {key}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--envs", nargs="+", default=list(ENVS), choices=list(ENVS))
    ap.add_argument("--episodes", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--window", type=int, default=100)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--configs", nargs="*", type=int, default=list(range(1, 13)), help="fixed configurations trained")
    ap.add_argument("--no-classical", dest="classical", action="store_false", help="skip the classical A3C")
    ap.add_argument("--no-search", dest="search", action="store_false",
                    help="skip DiffQAS-QT: add the listed rows to the (environment, seed) entries already measured")
    ap.add_argument("--out", type=Path, default=Path("runs/diffqas_rl"))
    ap.add_argument("--results", type=Path, default=RESULTS)
    add_variant_args(ap, "diffqas_rl")
    ap.add_argument("--report", action="store_true", help="only regenerate the markdown and figures")
    a = ap.parse_args()
    path = a.results / f"{a.name}.json"
    data = load_json(path, {"runs": {}})
    if not a.report:
        for key in a.envs:
            for seed in a.seeds:
                sets = [f"episodes={a.episodes}", f"workers={a.workers}", f"window={a.window}", "plots=false",
                        "configs=[" + ",".join(map(str, a.configs)) + "]", f"classical={str(a.classical).lower()}",
                        f"search={str(a.search).lower()}", *a.extra]
                new = {**collect(run_or_resume("diffqas_rl", key, seed, sets, a.out)), "seed": seed,
                       "overrides": a.extra}
                data["runs"][f"{key}/s{seed}"] = merge_runs(data["runs"].get(f"{key}/s{seed}"), new)
                save_json(path, data)
                print(f"{key} seed {seed} done", flush=True)
    (a.results / f"{a.name}.md").write_text(report(data))
    figures(data, a.results, a.name)
    print(report(data))


if __name__ == "__main__":
    main()
