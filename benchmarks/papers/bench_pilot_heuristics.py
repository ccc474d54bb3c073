"""Table II heuristics only: random, greedy, Master-AP, location, local search and exhaustive search.

Every Table II row on the same ``n`` test scenarios (seed 2025), under the correct closed-form
rate and the public code's compatibility formula. Exhaustive search runs on all ``n`` scenarios
where the set-partition count is at most ``--exhaustive-limit``; above it (K = 15: 2,391,485
partitions, seconds per scenario) it runs on the first ``--subset`` scenarios only, where local
search is scored against it on the same scenarios. No training: this isolates the system model.
Writes ``benchmarks/results/pilot_heuristics.md`` (+ ``.json``) and refreshes the README source.
``--rows`` re-runs some rows and merges them into the saved JSON (same ``--n``, ``--seed``,
``--exhaustive-limit`` and ``--subset`` as the saved rows, else it refuses).

    python benchmarks/papers/bench_pilot_heuristics.py              # 200 scenarios, both rate models
    python benchmarks/papers/bench_pilot_heuristics.py --rows small_K6   # re-run one row, keep the others
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.papers.bench_pilot import MODELS, compose_readme  # noqa: E402
from benchmarks.readme_tables import RESULTS, current_paths  # noqa: E402
from qtrain.recipes.hqcnn_pilot.paper import PAPER_REF, PAPER_TABLE_II  # noqa: E402
from qtrain.wireless import TABLE_II, compare_methods, make_scenarios, n_partitions, table2_config  # noqa: E402

METHODS = ("random", "greedy", "master_ap", "location", "local_search", "exhaustive")
SUBSET_LIMIT = 5_000_000
"""Above this partition count (the medium systems: about 4.9e13) exhaustive search is not run at all."""


def bench_row(row: str, model: str, n: int, seed: int, limit: int, subset: int) -> dict[str, Any]:
    """Means (Mbit/s) and ms/scenario of every method on ``n`` scenarios of ``row`` under ``model``."""
    cfg = table2_config(row, rate_model=model)
    sc = make_scenarios(cfg, n, seed)
    full = n_partitions(cfg.K, cfg.tau_p) <= limit
    res = compare_methods(sc, cfg, METHODS if full else METHODS[:-1], seed)
    out: dict[str, Any] = {"n": n, "mean": {k: v.mean for k, v in res.items()},
                           "ms": {k: v.seconds_per_scenario * 1e3 for k, v in res.items()}}
    if full:
        out["ls_gap"], out["ls_n"] = 1 - out["mean"]["local_search"] / out["mean"]["exhaustive"], n
    elif subset and n_partitions(cfg.K, cfg.tau_p) <= SUBSET_LIMIT:
        sub = compare_methods(sc[:subset], cfg, ["local_search", "exhaustive"], seed)
        out["ms"]["exhaustive"] = sub["exhaustive"].seconds_per_scenario * 1e3
        out["ls_gap"], out["ls_n"] = 1 - sub["local_search"].mean / sub["exhaustive"].mean, subset
    return out


def _ref(row: str, mean: dict[str, float]) -> tuple[str, float, float]:
    """Reference name, our reference value and the paper's: exhaustive, else best of greedy/Master-AP/location."""
    paper = PAPER_TABLE_II[row]
    if "exhaustive" in mean and paper["exhaustive"] is not None:
        return "exhaustive", mean["exhaustive"], paper["exhaustive"]
    best = max(PAPER_REF, key=mean.get)
    return f"best heuristic ({best})", mean[best], max(paper[k] for k in PAPER_REF)  # type: ignore[type-var]


def _subset_text(raw: dict[str, Any]) -> str:
    """The sentence on the rows whose exhaustive search ran on a subset only (small_K15 in the full run)."""
    meta, cf = raw["meta"], raw["closed_form"]
    rows = [row for row, r in cf.items() if r.get("ls_n", r["n"]) < r["n"] and "exhaustive" in r["ms"]]
    if not rows:
        return ""
    each = ", ".join(f"{row} ({n_partitions(TABLE_II[row][2], TABLE_II[row][3]):,} partitions, "
                     f"{cf[row]['ms']['exhaustive'] / 1e3:.1f} s per scenario here)" for row in rows)
    return (f"; for {each} only on the first {meta['subset']} scenarios, to measure local search against it")


def render(raw: dict[str, Any]) -> str:
    """The text of ``pilot_heuristics.md`` from the saved results."""
    meta = raw["meta"]
    updates = "".join(f" Rows re-run since: `{current_paths(u)}`." for u in meta.get("updates", []))
    lines = ["# HQCNN paper Table II, heuristics only (no training)", "",
             f"{meta['n']} test scenarios per row (seed {meta['seed']}), the same for every method and both rate "
             f"models. Exhaustive search over set partitions where there are at most {meta['limit']:,}"
             f"{_subset_text(raw)}. Local search: single-user pilot "
             f"moves seeded by Master-AP, best improvement until none helps. Command: "
             f"`{current_paths(meta['command'])}` ({meta['wall_min']:.1f} min wall, one thread, on a shared 2-core "
             f"machine).{updates}", ""]
    for model in MODELS:
        lines += [f"## {model}: mean sum-rate, ours (paper)", "",
                  "| system | " + " | ".join(METHODS) + " | ours / paper (reference) | local search vs exhaustive |",
                  "|" + "---|" * (len(METHODS) + 3)]
        for row, r in raw[model].items():
            paper, mean = PAPER_TABLE_II[row], r["mean"]
            cells = [f"{mean[m]:.2f}" + (f" ({paper[m]:.2f})" if paper.get(m) is not None else "")
                     if m in mean else "-" for m in METHODS]
            name, ours, theirs = _ref(row, mean)
            gap = f"-{100 * r['ls_gap']:.2f}% (n={r['ls_n']})" if "ls_gap" in r else "-"
            lines.append(f"| {row} | " + " | ".join(cells) + f" | {ours / theirs:.2f}x ({name}) | {gap} |")
        lines += ["", f"Ratios to the reference ({model}), ours / paper:", "",
                  "| system | reference | " + " | ".join(METHODS[:-1]) + " |", "|" + "---|" * (len(METHODS) + 1)]
        for row, r in raw[model].items():
            name, ours, theirs = _ref(row, r["mean"])
            paper = PAPER_TABLE_II[row]
            cells = [f"{r['mean'][m] / ours:.3f}" + (f" / {paper[m] / theirs:.3f}" if paper.get(m) else "")
                     for m in METHODS[:-1]]
            lines.append(f"| {row} | {name} | " + " | ".join(cells) + " |")
        lines.append("")
    ms = raw["closed_form"]
    lines += ["Time per scenario (ms, closed form): " + "; ".join(
        f"{row} " + ", ".join(f"{m} {v:.1f}" for m, v in r["ms"].items() if m in ("greedy", "local_search",
                                                                                   "exhaustive"))
        for row, r in ms.items()) + ".", ""]
    return "\n".join(lines)


PROTOCOL = ("n", "seed", "limit", "subset")
"""What saved rows and re-run rows must share to sit in one table."""


def merge(path: Path, new: dict[str, Any], rows: list[str]) -> dict[str, Any]:
    """``new`` (some rows, both models, its meta) merged into the results saved at ``path`` (all rows, TABLE_II order).

    Raises:
        ValueError: the saved results were made with another protocol (``n``, ``seed``, ``limit``, ``subset``).
    """
    if not path.exists() or set(rows) == set(TABLE_II):
        return new
    old = json.loads(path.read_text())
    bad = {k: (old["meta"][k], new["meta"][k]) for k in PROTOCOL if old["meta"][k] != new["meta"][k]}
    if bad:
        raise ValueError(f"{path} was made with {', '.join(f'{k}={v[0]}' for k, v in bad.items())} but this run "
                         f"uses {', '.join(f'{k}={v[1]}' for k, v in bad.items())}; re-run every row (no --rows) or "
                         "pass the saved values")
    out: dict[str, Any] = {m: {r: new[m].get(r) or old[m][r] for r in TABLE_II if r in new[m] or r in old[m]}
                           for m in MODELS}
    out["meta"] = {**old["meta"], "updates": [*old["meta"].get("updates", []), new["meta"]["command"]]}
    return out


def _command(a: argparse.Namespace) -> str:
    """The command line of this invocation (defaults left out)."""
    opts = [f"--n {a.n}" if a.n != 200 else "", f"--seed {a.seed}" if a.seed != 2025 else "",
            f"--exhaustive-limit {a.exhaustive_limit}" if a.exhaustive_limit != 200_000 else "",
            f"--subset {a.subset}" if a.subset != 10 else "",
            f"--rows {' '.join(a.rows)}" if set(a.rows) != set(TABLE_II) else ""]
    return " ".join(["python benchmarks/papers/bench_pilot_heuristics.py", *(o for o in opts if o)])


def cli(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", nargs="+", default=list(TABLE_II), choices=list(TABLE_II))
    ap.add_argument("--n", type=int, default=200, help="test scenarios per row")
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--exhaustive-limit", type=int, default=200_000, help="max set partitions for a full run")
    ap.add_argument("--subset", type=int, default=10, help="scenarios for exhaustive search above the limit")
    ap.add_argument("--render-only", action="store_true")
    a = ap.parse_args(argv)
    path = RESULTS / "pilot_heuristics.json"
    if not a.render_only:
        torch.set_num_threads(1)
        t0 = time.perf_counter()
        raw: dict[str, Any] = {m: {row: bench_row(row, m, a.n, a.seed, a.exhaustive_limit, a.subset)
                                   for row in a.rows} for m in MODELS}
        raw["meta"] = {"n": a.n, "seed": a.seed, "limit": a.exhaustive_limit, "subset": a.subset,
                       "wall_min": (time.perf_counter() - t0) / 60, "command": _command(a)}
        path.write_text(json.dumps(merge(path, raw, a.rows), indent=1))
    text = render(json.loads(path.read_text()))
    (RESULTS / "pilot_heuristics.md").write_text(text)
    compose_readme(RESULTS)
    print(text)


if __name__ == "__main__":
    cli()
