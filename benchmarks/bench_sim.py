"""Simulator benchmark on the Quantum-Train workloads; regenerates the README's table.

    python benchmarks/bench_sim.py [--repeats 5] [--no-peers]

qtrain is timed with 1 and 2 threads; peers (see benchmarks/setup_peers.sh) with 1 thread, in
the same run, each after its probabilities were checked against qtrain's.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.readme_tables import update_section  # noqa: E402
from qtrain.bench import run_sim_benchmark  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--no-readme", action="store_true")
    a = ap.parse_args()
    one = run_sim_benchmark(threads=1, repeats=a.repeats, peers=not a.no_peers)
    two = run_sim_benchmark(threads=2, repeats=a.repeats, peers=False)
    text = "### 1 thread (peers in the same run)\n\n" + one + "\n\n### 2 threads\n\n" + two + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sim.md").write_text(text)
    print(text)
    if not a.no_readme:
        update_section("sim", text)


if __name__ == "__main__":
    main()
