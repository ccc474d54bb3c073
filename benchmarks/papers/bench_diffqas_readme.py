"""The README's DiffQAS-QT section, regenerated from the saved results of the other ``bench_diffqas_*`` scripts.

Reads ``benchmarks/results/diffqas_{image,transform,series,rl,cost}.json`` and writes
``benchmarks/results/diffqas_readme.md`` (ours next to the paper's numbers; every number comes from
those files). Sections whose results are missing are left out.

    python benchmarks/papers/bench_diffqas_readme.py
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.papers.bench_diffqas_cost import within_literal  # noqa: E402
from benchmarks.papers.bench_diffqas_image import TASKS  # noqa: E402
from benchmarks.papers.bench_diffqas_rl import ENVS  # noqa: E402
from benchmarks.papers.bench_diffqas_series import NAMES  # noqa: E402
from benchmarks.papers.diffqas_common import RESULTS, fmt_mean_std, load_json  # noqa: E402
from qtrain.recipes.diffqas.paper import PARAMS, SERIES_COLUMNS, TABLE_II, best_fixed  # noqa: E402

HEAD = """## DiffQAS-QT: differentiable architecture search for the parameter generator (paper 004)

The 12 candidate circuits of Table I ({H layer or not} x {CNOT chain "Ent" or ring "Cyc"} x {Rx, Ry, Rz},
depth D, one shared D x n angle array) are mixed by 12 learnable structural weights, p = sum_c w_c p_c,
and a `Linear(n + 1 -> 1)` mapping turns the mixture into every weight of the target
(`qtrain.qt.DiffQASTrain(target, depth=...)`, any `nn.Module`). Six candidates have angle-free
probabilities (H + Rx/Rz: uniform; no H + Rz: |0...0>), H + Ry is a pi/2 shift of the first layer and
no H + Rx is, in the Hadamard basis, Rz phases and CNOTs: two Walsh-Hadamard transforms. So all 12 cost
4 native runs of 2 real compiled programs and two O(n 2^n) transforms; `engine="batched"` runs them as one
per-sample simulation instead, `engine="separate"` as 12 literal circuits (all three agree to 1e-12 in
float64 and with the dense reference). `summary.json` lists the learned weights and the arg-max
architecture; `derive_epochs` retrains the arg-max configuration alone.

```
qtrain run diffqas_image  --preset fashion_1_5   # Fig. 6: DiffQAS-QT + configs 1-12
qtrain run diffqas_series --preset narma10       # Table II column NARMA-10
qtrain run diffqas_rl     --preset empty5x5      # Fig. 13 (A3C worker processes, shared Adam)
```

The results below come from these scripts (resumable; 1 torch thread; `--report` redoes the tables):

```
python benchmarks/papers/bench_diffqas_image.py --seeds 0 1 2 --epochs 50 5 5
python benchmarks/papers/bench_diffqas_transform.py --tasks fashion_1_5 --variants scaled asinh rows --seeds 0 1 2
python benchmarks/papers/bench_diffqas_transform.py --tasks fashion_5_7 mnist_1_5 --variants scaled rows --seeds 0 1 2
python benchmarks/papers/bench_diffqas_transform.py --tasks fashion_1_5 fashion_5_7 mnist_1_5 --alive-only
python benchmarks/papers/bench_diffqas_series.py --seeds 0 1 2 --classical   # 5 columns x 14 rows
python benchmarks/papers/bench_diffqas_series.py --seeds 0 1 2 --configs --set weighting=softmax \\
    --name diffqas_series_softmax
python benchmarks/papers/bench_diffqas_rl.py --envs empty5x5 empty6x6 --episodes 500 --window 100 --seeds 0 1 2
python benchmarks/papers/bench_diffqas_rl.py --envs empty5x5 --seeds 0 1 2 --configs --no-classical \\
    --set center_rows=true --name diffqas_rl_rows
python benchmarks/papers/bench_diffqas_rl.py --envs empty5x5 --episodes 1500 --window 100 --configs 8 --seeds 0 1 \\
    --name diffqas_rl_long
python benchmarks/papers/bench_diffqas_cost.py --batched
python benchmarks/papers/bench_diffqas_readme.py   # this section
```
"""


def counts_section() -> list[str]:
    rows = [("images: MLP 784-128-64-2", "image"), ("time series: LSTM (one bias per gate) + Linear(20, 1)", "series"),
            ("RL policy 147-32-32-7", "rl_policy"), ("RL value 147-32-32-1", "rl_value")]
    lines = ["| target | generated (ours = paper) | qubits, depth | DiffQAS-QT trainable (ours = paper) |",
             "|---|---:|---|---:|"]
    for name, key in rows:
        p = PARAMS[key]
        lines.append(f"| {name} | {p.generated:,} | {p.n_qubits}, {p.depth} | {p.trainable} = "
                     f"{p.n_qubits * p.depth} angles + {p.n_qubits + 2} mapping + 12 structural |")
    return lines + ["", "(`tests/qt/test_diffqas.py` checks every count.)", ""]


def image_section(data: dict[str, Any]) -> list[str]:
    p = data["protocol"]
    lines = ["### Binary image classification (Figs. 5-7)", "",
             f"Protocol, all 13 rows alike: seeds {', '.join(map(str, p['seeds']))}; epochs "
             + ", ".join(f"{TASKS[t][0]} {e}" for t, e in p["epochs"].items())
             + "; Adam 1e-3, batch 100; MNIST 1 vs 5 from MNIST-5k (800 / 200 images), Fashion-MNIST pairs with "
               "all 12,000 / 2,000 images; feature `transform=scaled`"
             + (", `center_rows=true` (the recipe's default)" if p.get("center_rows") else "")
             + ". Test accuracy %, mean ± std over seeds.", "",
             "| task | DiffQAS-QT | best fixed configuration | mean of the 12 fixed | paper | recipe wall time |",
             "|---|---:|---:|---:|---|---:|"]
    for task, (name, fig, paper_acc) in TASKS.items():
        runs = [r for k, r in data["runs"].items() if k.startswith(task + "/")]
        if not runs:
            continue
        acc = {t: [r["models"][t]["test_acc"] for r in runs] for t in runs[0]["models"]}
        fixed = [t for t in acc if t.startswith("config")]
        best = max(fixed, key=lambda t: statistics.mean(acc[t]))
        mean_fixed = [statistics.mean(r["models"][t]["test_acc"] for t in fixed) for r in runs]
        paper = f"DiffQAS-QT > {paper_acc:g} %" if paper_acc else "curves only"
        wall = statistics.mean(r["wall_time_s"] for r in runs) / 60
        lines.append(f"| {name} ({fig}) | {fmt_mean_std(acc['diffqas'], 100)} | config {best[6:]}: "
                     f"{fmt_mean_std(acc[best], 100)} | {fmt_mean_std(mean_fixed, 100)} | {paper} | "
                     f"{wall:.0f} min / seed |")
    return lines + ["", "Configs 1, 3, 4, 6 (uniform p) and 9, 12 (all mass on |0...0>) have the same probabilities "
                        "for any angles, so with the same seed each group trains to the same numbers (the paper's "
                        "differing values for them are run-to-run noise). Full tables, train accuracies, losses and "
                        "learned architectures: `benchmarks/results/diffqas_image.md`; curves: "
                        "`diffqas_image_<task>.png`.", ""]


def series_section(data: dict[str, Any], softmax: dict[str, Any] | None = None) -> list[str]:
    p = data["protocol"]
    cols = [c for c in SERIES_COLUMNS if any(k.startswith(c + "/") for k in data["runs"])]
    tags = list(dict.fromkeys(t for r in data["runs"].values() for t in r["models"]))
    fixed = sorted((t for t in tags if t.startswith("config")), key=lambda t: int(t[6:]))
    lines = ["### Time-series prediction (Table II, test MSE)", "",
             f"Protocol, all rows of a column alike: seeds {', '.join(map(str, p['seeds']))}; epochs "
             + ", ".join(f"{NAMES[c]} {p['epochs'][c]}" for c in cols)
             + "; RMSprop 0.01, batch 10, window 4; rows trained: DiffQAS-QT, configs "
             + ("1-12" if len(fixed) == 12 else ", ".join(t[6:] for t in fixed))
             + (", the classical LSTM" if "classical" in tags else "")
             + ("" if len(fixed) == 12 else " (not all 12 configurations: CPU budget)")
             + ". Mean ± std over seeds, ours / paper.", "",
             "| row | " + " | ".join(NAMES[c] for c in cols) + " |", "|---|" + "---:|" * len(cols)]

    def vals(tag: str, c: str) -> list[float]:
        return [r["models"][tag]["test_mse"] for k, r in data["runs"].items() if k.startswith(c + "/")
                and tag in r["models"]]

    ours = [f"{fmt_mean_std(vals('diffqas', c), digits=1, sci=True)} / {TABLE_II['DiffQAS'][c]:.1e}" for c in cols]
    lines.append("| DiffQAS-QT | " + " | ".join(ours) + " |")
    best = []
    for c in cols:
        tag = min(fixed, key=lambda t: statistics.mean(vals(t, c)))
        pt, pv = best_fixed(c)
        best.append(f"{fmt_mean_std(vals(tag, c), digits=1, sci=True)} (config {tag[6:]}) / {pv:.1e} ({pt})")
    lines.append("| best fixed configuration trained (ours) / of all 12 (paper) | " + " | ".join(best) + " |")
    if "classical" in tags:
        lines.append("| classical LSTM (1,781 trainable) | " + " | ".join(
            f"{fmt_mean_std(vals('classical', c), digits=1, sci=True)} / -" for c in cols) + " |")
    soft = softmax
    if soft:
        got = [[r["models"]["diffqas"]["test_mse"] for k, r in soft["runs"].items() if k.startswith(c + "/")]
               for c in cols]
        lines.append("| DiffQAS-QT, softmax structural weights (ours only) | " + " | ".join(
            f"{fmt_mean_std(g, digits=1, sci=True)}" if g else "-" for g in got) + " |")
    arch = [r["models"]["diffqas"]["architecture"] for r in data["runs"].values()]
    free = sum(a["argmax"] in (1, 3, 4, 6, 9, 12) for a in arch)
    ws = [w for a in arch for w in a["weights"].values()]
    return lines + ["", f"The paper's raw structural weights (start 1/12) end between {min(ws):.2f} and {max(ws):.2f} "
                        f"under RMSprop (negative ones make p a signed mixture), and {free} of {len(arch)} searches "
                        "end on an angle-free candidate; softmax weights (`--set weighting=softmax`, "
                        "`diffqas_series_softmax.md`) keep p a distribution. "
                        "All rows: `benchmarks/results/diffqas_series.md`; predictions at epochs 1, 15, 30, 100 "
                        "(Figs. 8-12): `diffqas_series_<dataset>.png`.", ""]


def rl_rows_line(rows: dict[str, Any]) -> list[str]:
    """The DiffQAS-QT row of the ``center_rows`` variant (``diffqas_rl_rows.json``), per environment."""
    out = []
    for key, (env, _fig, _opt) in ENVS.items():
        got = [r["models"]["diffqas"] for k, r in sorted(rows.get("runs", {}).items()) if k.split("/")[0] == key]
        if got:
            out.append(f"{env}, DiffQAS-QT with `center_rows=true` (the same protocol, seeds "
                       f"{', '.join(k.split('/s')[1] for k in sorted(rows['runs']) if k.startswith(key))}): final "
                       f"mean return {fmt_mean_std([g['final_mean_return'] for g in got], 1, 3)} "
                       f"(`benchmarks/results/diffqas_rl_rows.md`).")
    return out + ([""] if out else [])


def rl_section(data: dict[str, Any], stem: str = "diffqas_rl", rows: dict[str, Any] | None = None) -> list[str]:
    title = ("### Reinforcement learning, A3C on MiniGrid-Empty (Figs. 13-14)" if stem == "diffqas_rl" else
             "Longer budget, fewer seeds (the same settings otherwise):")
    lines = [title, ""]
    for key, (env, fig, _opt) in ENVS.items():
        runs = [r for k, r in sorted(data["runs"].items()) if k.split("/")[0] == key]
        if not runs:
            continue
        r0 = runs[0]
        lines += [f"{env} ({fig}): {r0['workers']} workers, {r0['episodes']} episodes per row (paper: 16 workers, "
                  f"50,000 episodes), seeds {', '.join(str(r.get('seed', 0)) for r in runs)}; final return = mean "
                  f"over the last {r0['window']} episodes (mean ± std over seeds); solved = moving average over "
                  f"{r0['window']} reaches {r0['solve_return']}.", "",
                  "| model | trainable | final mean return | episodes to solve per seed |", "|---|---:|---:|---|"]
        for tag in _rl_rows(runs):
            got = [r["models"][tag] for r in runs if tag in r["models"]]
            fixed = sum(t.startswith("config") for t in runs[0]["models"])
            name = {"diffqas": "DiffQAS-QT", "classical": "classical A3C"}.get(
                tag, f"{'best fixed' if fixed == 12 else 'fixed'}: config {tag[6:]}")
            lines.append(f"| {name} | {got[0]['trainable']:,} | "
                         f"{fmt_mean_std([g['final_mean_return'] for g in got], 1, 3)} | "
                         + ", ".join(str(g["episodes_to_solve"] or "not solved") for g in got) + " |")
        lines.append("")
    return lines + rl_rows_line(rows or {}) + [f"All rows: `benchmarks/results/{stem}.md`; curves: "
                                         f"`{stem}_<env>_s<seed>.png`.", ""]


def _rl_rows(runs: list[dict[str, Any]]) -> list[str]:
    """DiffQAS-QT, the best fixed configuration (when any was trained), classical A3C."""
    tags = list(dict.fromkeys(t for r in runs for t in r["models"]))
    fixed = [t for t in tags if t.startswith("config")]
    best = max(fixed, key=lambda t: statistics.mean(r["models"][t]["final_mean_return"] for r in runs
                                                    if t in r["models"]), default=None)
    return [t for t in ("diffqas", best, "classical") if t in tags]  # a lone fixed one is its own best


def transform_section(data: dict[str, Any]) -> list[str]:
    p = data["protocol"]
    runs = data["runs"]
    alive = [data.get("alive", {}).get(f"fashion_1_5/s{s}") for s in p["seeds"]]
    start = ("" if not all(alive) else " At the first generation on Fashion 1 vs 5, "
             + ", ".join(f"{100 * a['scaled'][1]:.0f}" for a in alive) + " % of the second layer's 64 units fire "
             "for at least one of 500 training images (seeds " + ", ".join(map(str, p["seeds"])) + "), "
             + ", ".join(f"{100 * a['rows'][1]:.0f}" for a in alive) + " % with `center_rows`.")
    lines = ["### Row centring and the probability feature (the search model alone)", "",
             "The default mapping feature is `p * 2^n` (`transform=scaled`). With a linear mapping of 0/1 basis "
             "labels a generated weight is a sum of a per-row and a per-column term, so whole output units start "
             "shifted, and behind a ReLU with non-negative inputs the shifted-down ones do not fire. "
             "`center_rows=true` removes every row's offset at the first generation (a fixed buffer, no "
             f"trainable parameter).{start} `transform=asinh` (asinh(2^n p)) was the earlier guess. DiffQAS-QT "
             f"alone (`configs=[]`), the same seeds {', '.join(map(str, p['seeds']))} for every variant, the task's "
             "epochs as in the table above; test accuracy %:", "",
             "| task | variant | mean ± std | per seed |", "|---|---|---:|---|"]
    for task, (name, _fig, _paper) in TASKS.items():
        for v in ("scaled", "asinh", "rows"):
            got = [runs[f"{task}/{v}/s{s}"] for s in p["seeds"] if f"{task}/{v}/s{s}" in runs]
            if got:
                label = {"scaled": "`scaled`, no row centring (the paper's mapping)", "asinh": "`asinh`",
                         "rows": "`scaled` + `center_rows` (the default)"}[v]
                lines.append(f"| {name} | {label} | {fmt_mean_std([r['test_acc'] for r in got], 100)} | "
                             + ", ".join(f"{100 * r['test_acc']:.2f}" for r in got) + " |")
    return lines + ["", "(`benchmarks/results/diffqas_transform.md`.)", ""]


def cost_section(data: dict[str, Any]) -> list[str]:
    lines = ["### Cost of the search", "",
             "One training step with all 12 candidates vs one step of a fixed configuration, same run, interleaved "
             f"rounds, median, {data['protocol']['threads']} thread (`benchmarks/papers/bench_diffqas_cost.py`). "
             "Target: <= 3x.", "",
             "| task | DiffQAS-QT ms/step | fixed configs ms/step (min - max) | DiffQAS / mean fixed | "
             "DiffQAS / each fixed | DiffQAS / mean literal fixed | DiffQAS / each literal | "
             "one batched simulation ms/step |",
             "|---|---:|---:|---:|---|---:|---|---:|"]
    for task, res in data["tasks"].items():
        med = res["seconds_per_step"]
        fixed = [med[f"config {k}"] for k in range(1, 13)]
        ratios = res["ratio_vs_each_config"]
        within = sum(r <= 3.0 for r in ratios.values())
        batched = med.get("DiffQAS batched")
        lines.append(f"| {task} | {1000 * med['DiffQAS']:.1f} | {1000 * min(fixed):.1f} - {1000 * max(fixed):.1f} | "
                     f"{res['ratio_vs_mean_config']:.2f}x | <= 3x for {within} of 12 "
                     f"({min(ratios.values()):.1f}x - {max(ratios.values()):.1f}x) | "
                     f"{res.get('ratio_vs_mean_literal', float('nan')):.2f}x | "
                     f"<= 3x for {within_literal(med)} of 12 | "
                     f"{'-' if batched is None else f'{1000 * batched:.0f}'} |")
    return lines + ["", "\"Fixed\" configurations use the same exact shortcuts as the search (an angle-free one "
                        "simulates nothing, a no-H Rx one is two Walsh-Hadamard transforms); \"literal\" ones "
                        "simulate the circuit as written, as a plain Quantum-Train model of that configuration "
                        "would. Why the search is not within 3x of the mean shortcut configuration: its four Ry "
                        "candidates are four real statevectors simulated forward and back, a fixed configuration is "
                        "at most one of them, and six of the twelve cost next to nothing; only the shared part of a "
                        "step (mapping, target, optimizer) is common.", ""]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=RESULTS)
    a = ap.parse_args(argv)
    parts = [HEAD, *counts_section()]
    softmax = load_json(a.results / "diffqas_series_softmax.json", {})
    for name, fn in (("image", image_section), ("transform", transform_section),
                     ("series", lambda d: series_section(d, softmax)),
                     ("rl", lambda d: rl_section(d, rows=load_json(a.results / "diffqas_rl_rows.json", {}))),
                     ("rl_long", lambda d: rl_section(d, "diffqas_rl_long")),
                     ("cost", cost_section)):
        data = load_json(a.results / f"diffqas_{name}.json", None)
        if data:
            parts += fn(data)
    text = "\n".join(parts).rstrip() + "\n"
    (a.results / "diffqas_readme.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
