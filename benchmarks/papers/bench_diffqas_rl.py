"""DiffQAS-QT paper, Figs. 13-14: A3C on MiniGrid-Empty, DiffQAS-QT vs configs 1-12 vs classical A3C.

Every environment runs the ``diffqas_rl`` recipe with its preset (``empty5x5`` / ``empty6x6``: the
search, configs 1-12 and the classical networks, each its own A3C run) and one stated protocol for
all rows (episodes, workers, window); runs resume after a kill. ``--report`` regenerates the outputs.

Writes ``benchmarks/results/diffqas_rl.{json,md}`` (final mean return over the last ``window``
episodes, episodes to solve, minutes, for every row; DiffQAS-QT, the best fixed configuration and the
classical A3C first) and ``diffqas_rl_<env>.png`` (moving average +- std of the returns).

    python benchmarks/papers/bench_diffqas_rl.py --episodes 500             # the README protocol
    python benchmarks/papers/bench_diffqas_rl.py --report
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.papers.diffqas_common import RESULTS, load_json, run_or_resume, save_json  # noqa: E402

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


def report(data: dict[str, Any]) -> str:
    """Markdown: per environment, the three headline rows, then every row."""
    lines = ["# DiffQAS-QT, reinforcement learning (paper Figs. 13-14): ours", ""]
    for key, (env, fig, optimum) in ENVS.items():
        r = data["runs"].get(key)
        if r is None:
            continue
        m = r["models"]
        fixed = [t for t in m if t.startswith("config")]
        best = max(fixed, key=lambda t: m[t]["final_mean_return"]) if fixed else None
        lines += [f"## {env} ({fig}; paper: curves only, 50,000 episodes, 16 workers)", "",
                  f"Protocol (all rows alike): A3C, {r['workers']} workers, {r['episodes']} episodes per row, "
                  "gamma 0.9, "
                  "updates every 5 steps, shared Adam 1e-4 (0.92, 0.999), 1 seed; mean return over the last "
                  f"{r['window']} episodes; solved = the moving average over {r['window']} episodes first reaches "
                  f"{r['solve_return']} (optimal return {optimum}).", "",
                  "| model | trainable | mean return (last window) | episodes to solve | minutes |",
                  "|---|---:|---:|---:|---:|"]
        order = ["diffqas"] + ([best] if best else []) + (["classical"] if "classical" in m else [])
        order += [t for t in m if t not in order]
        for i, tag in enumerate(order):
            x = m[tag]
            name = _label(tag) + (" (best fixed)" if tag == best else "")
            if i == len([t for t in ("diffqas", best, "classical") if t in m]):
                lines.append("| *all fixed configurations* | | | | |")
            lines.append(f"| {name} | {x['trainable']:,} | {x['final_mean_return']:.3f} ± {x['final_std_return']:.3f} "
                         f"| {x['episodes_to_solve'] or 'not within the budget'} | {x['train_time_s'] / 60:.1f} |")
        arch = m.get("diffqas", {}).get("architecture") or {}
        picks = "; ".join(f"{part}: config {a['argmax']} ({a['argmax_label']})" for part, a in arch.items() if a)
        lines += ["", f"DiffQAS-QT arg-max architectures: {picks}. Whole run: {r['wall_time_s'] / 60:.0f} min.", ""]
    return "\n".join(lines) + "\n"


def figures(data: dict[str, Any], folder: Path) -> None:
    """``diffqas_rl_<env>.png``: moving average +- std of every row's returns."""
    from qtrain.recipes.diffqas.figures import plot_returns

    for key, r in data["runs"].items():
        curves = {_label(t): m["returns"] for t, m in r["models"].items()}
        plot_returns(curves, folder / f"diffqas_rl_{key}.png", r["window"], f"ours: {ENVS[key][0]}, A3C")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--envs", nargs="+", default=list(ENVS), choices=list(ENVS))
    ap.add_argument("--episodes", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--window", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("runs/diffqas_rl"))
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--report", action="store_true", help="only regenerate the markdown and figures")
    a = ap.parse_args()
    path = a.results / "diffqas_rl.json"
    data = load_json(path, {"runs": {}})
    if not a.report:
        for key in a.envs:
            sets = [f"episodes={a.episodes}", f"workers={a.workers}", f"window={a.window}", "plots=false"]
            data["runs"][key] = collect(run_or_resume("diffqas_rl", key, a.seed, sets, a.out))
            save_json(path, data)
            print(f"{key} done", flush=True)
    (a.results / "diffqas_rl.md").write_text(report(data))
    figures(data, a.results)
    print(report(data))


if __name__ == "__main__":
    main()
