"""``qtrain bench sim``: time the simulator (and, from a repository checkout, peer libraries) as ratios.

Prints the markdown table (and writes it to ``--out``); notes such as "no peers installed" go to
stderr. Python: :func:`qtrain.bench.run_sim_benchmark` returns a :class:`qtrain.bench.SimBenchmark`.
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["HELP", "configure", "run"]

HELP = "time the simulator (and peers) on the Quantum-Train workloads"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``qtrain bench``."""
    parser.add_argument("target", choices=["sim"], help="what to benchmark")
    parser.add_argument("--quick", action="store_true", help="three small cases (seconds) instead of all nine")
    parser.add_argument("--cases", default=None, metavar="ANSATZ:N:BLOCKS,...",
                        help="time these circuits instead, e.g. ry_cnot:13:16,u3_cu3:6:20")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per case (median reported)")
    parser.add_argument("--peers", action="store_true",
                        help="also time the peer libraries installed by benchmarks/speed/setup_peers.sh "
                             "(needs the repository checkout)")
    parser.add_argument("--repo", default=None, metavar="DIR",
                        help="the repository checkout with benchmarks/speed/peers/ (default: the current "
                             "directory or a parent)")
    parser.add_argument("--out", default=None, help="also write the markdown table to this file")


def run(args: argparse.Namespace) -> int:
    """Run the benchmark, print the table."""
    from pathlib import Path

    from qtrain.bench import parse_cases, run_sim_benchmark

    if args.repo is not None and not args.peers:
        raise ValueError(f"--repo {args.repo} tells where the peer runner is; add --peers to time the peers")
    cases = parse_cases(args.cases) if args.cases is not None else None
    res = run_sim_benchmark(quick=args.quick, threads=args.threads, repeats=args.repeats, peers=args.peers,
                            cases=cases, repo=args.repo)
    table = res.markdown()
    print(table)
    for note in res.notes:
        print(f"qtrain bench: note: {note}", file=sys.stderr)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(table + "\n")
    return 0
