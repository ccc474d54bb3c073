"""Simulator benchmark on the Quantum-Train workloads; regenerates the README's table.

    python benchmarks/speed/bench_sim.py [--repeats 5] [--no-peers] [--no-readme]

qtrain is timed with 1 and 2 threads; peers (see benchmarks/speed/setup_peers.sh) with 1 thread,
in the same run, each after its probabilities were checked against qtrain's. Writes
``benchmarks/results/sim.md`` and the README section between the ``sim`` markers.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the repository root: `benchmarks.*` (the README helper)

from qtrain.bench import run_sim_benchmark  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5, help="timed repeats per case (median reported)")
    ap.add_argument("--no-peers", action="store_true", help="time qtrain only")
    ap.add_argument("--no-readme", action="store_true", help="do not rewrite the README section")
    a = ap.parse_args()
    one = run_sim_benchmark(threads=1, repeats=a.repeats, peers=not a.no_peers, repo=ROOT)
    two = run_sim_benchmark(threads=2, repeats=a.repeats, peers=False)
    for note in one.notes:
        print(f"note: {note}", file=sys.stderr)
    text = ("### 1 thread (peers in the same run)\n\n" + one.markdown() + "\n\n### 2 threads\n\n"
            + two.markdown() + "\n")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sim.md").write_text(text)
    print(text)
    if not a.no_readme:
        from benchmarks.readme_tables import update_section

        update_section("sim", text)


if __name__ == "__main__":
    main()
