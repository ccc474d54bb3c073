"""``qtrain sweep RECIPE --presets a,b --seeds 0,1,2 [--set key=value ...] [--ray]``: presets x seeds, mean ± std.

Prints each run as it finishes (stderr), then the table over seeds and the sweep folder; exits 1
when a run failed. Python: :func:`qtrain.sweep.sweep` returns a :class:`qtrain.sweep.SweepResult`.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["HELP", "configure", "run"]

HELP = "run presets x seeds (serially or on Ray) and tabulate mean ± std: qtrain sweep RECIPE --presets a,b"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``qtrain sweep``."""
    parser.add_argument("recipe", help="recipe name (see `qtrain ls`)")
    parser.add_argument("--presets", required=True, help="comma-separated preset names, e.g. mnist_qt16,mnist_qt61")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (default: 0)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config field of every run (repeatable)")
    parser.add_argument("--out", default="runs", help="parent folder of the sweep folder (default: runs/)")
    parser.add_argument("--ray", action="store_true",
                        help='run each grid point as a Ray task (pip install "qtrain[dist]")')
    parser.add_argument("--address", default=None, help="Ray cluster address (default: a local Ray instance)")
    parser.add_argument("--cpus-per-run", type=float, default=1.0, help="CPUs Ray reserves per run (default 1)")


def _progress(rec: dict[str, Any]) -> None:
    status = f"failed: {rec['error']}" if rec.get("error") else rec["run_dir"]
    print(f"  {rec['preset']} seed {rec['seed']}: {status}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Run the grid, print the table; exit 1 when a run failed."""
    from qtrain.sweep import markdown_table, parse_list, sweep

    if args.address and not args.ray:
        raise ValueError(f"--address {args.address} is a Ray cluster address; add --ray to use it")
    res = sweep(args.recipe, parse_list(args.presets, str, "--presets"), parse_list(args.seeds, int, "--seeds"),
                args.overrides, out=args.out, use_ray=args.ray, address=args.address,
                cpus_per_run=args.cpus_per_run, on_run=_progress)
    print(markdown_table(res.rows), end="")
    print(f"sweep folder: {res.sweep_dir} (results.md, results.csv, sweep.json)")
    for rec in res.failures:
        print(f"qtrain sweep: run {rec['preset']} seed {rec['seed']} failed: {rec['error']}", file=sys.stderr)
    return 1 if res.failures else 0
