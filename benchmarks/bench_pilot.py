"""Table II of the HQCNN paper on a reduced protocol: learners vs heuristics vs exhaustive search.

Runs ``qtrain run pilot_assignment --preset <row>`` for each row and seed (public-code protocol:
192 training scenarios, 15 epochs, batch 16, Adam 1e-2, unsupervised soft sum-rate; 200 test
scenarios), then writes ``benchmarks/results/pilot_table2.md`` with mean +- std over seeds, the
ratio to exhaustive search (small) or to the best heuristic (medium), the parameter counts, and the
paper's numbers. The paper's Mbit/s come from its public code's buggy rate, ours from the correct
closed form, so only the ratios are comparable.

    python benchmarks/bench_pilot.py --rows small_K6 medium_M30 --seeds 0 1
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import tempfile
from pathlib import Path

from qtrain.cli import main

OUT = Path(__file__).parent / "results" / "pilot_table2.md"


def run(row: str, seed: int, out: Path, sets: list[str]) -> dict:
    args = ["run", "pilot_assignment", "--preset", row, "--seed", str(seed), "--out", str(out), "--quiet"]
    with contextlib.redirect_stdout(io.StringIO()):
        rc = main(args + [a for s in sets for a in ("--set", s)])
    if rc != 0:
        raise RuntimeError(f"run {row} seed {seed} failed with rc={rc}")
    (path,) = [p for p in out.iterdir() if f"__{row}__s{seed}__" in p.name]
    return json.loads((path / "summary.json").read_text())


def _ms(xs: list[float]) -> str:
    return f"{statistics.mean(xs):.2f} ± {statistics.stdev(xs):.2f}" if len(xs) > 1 else f"{xs[0]:.2f}"


def table(row: str, sums: list[dict]) -> list[str]:
    first = sums[0]
    ref = first["reference"]
    lines = [f"### {row} (ratio to {ref})", "",
             "| method | sum-rate (Mbit/s) | ratio (ours) | paper (Mbit/s, buggy rate) | paper ratio | quantum | classical |",
             "|---|---|---|---|---|---|---|"]
    paper = {r["method"]: r["paper"] for r in first["table"]}
    pref = paper.get(ref) or max(v for k, v in paper.items() if v and k in first["baselines"] and k != "random")
    for r in first["table"]:
        m = r["method"]
        rates = [next(x["sum-rate"] for x in s["table"] if x["method"] == m) for s in sums]
        ratios = [next(x["ratio"] for x in s["table"] if x["method"] == m) for s in sums]
        p = paper.get(m)
        lines.append(f"| {m} | {_ms(rates)} | {_ms(ratios)} | {p if p is not None else '-'} | "
                     f"{f'{p / pref:.3f}' if p else '-'} | {r.get('quantum', '')} | {r.get('classical', '')} |")
    return lines + [""]


def cli() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", nargs="+", default=["small_K6", "medium_M30"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--set", action="append", default=["num_threads=1"], dest="sets")
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args()
    lines = ["# HQCNN paper Table II: ours vs paper (reduced protocol)", "",
             f"Seeds {a.seeds}; overrides {a.sets}. Command: `python benchmarks/bench_pilot.py --rows "
             f"{' '.join(a.rows)} --seeds {' '.join(map(str, a.seeds))}`.", ""]
    with tempfile.TemporaryDirectory() as tmp:
        for row in a.rows:
            lines += table(row, [run(row, s, Path(tmp), a.sets) for s in a.seeds])
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    cli()
