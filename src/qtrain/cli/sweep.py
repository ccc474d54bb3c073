"""``qtrain sweep RECIPE [--presets a,b] [--seeds 0,1,2] [--set key=v1,v2 ...] [--jobs N | --ray]``: a grid, mean ± std.

The grid is presets x ``--set`` values x seeds: ``--set lr=1e-3,1e-2`` is an axis (a list-valued
field needs brackets for a grid: ``--set mapping_hidden=[4,20,4],[8,8]``). Prints one progress line
per finished run (stderr: ``[3/8] ... ETA``), then the table over seeds and the sweep folder; exits
1 when a run failed. Python: :func:`qtrain.sweep.sweep` returns a :class:`qtrain.sweep.SweepResult`.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["HELP", "configure", "run"]

HELP = ("run a grid (presets x --set values x seeds; serially, in --jobs processes or on Ray) and tabulate "
        "mean ± std: qtrain sweep RECIPE --presets a,b --set lr=1e-3,1e-2")


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``qtrain sweep``."""
    parser.add_argument("recipe", help="recipe name (see `qtrain ls`)")
    parser.add_argument("--presets", default=None,
                        help="comma-separated preset names, e.g. mnist_qt16,mnist_qt61 "
                             "(default: the recipe's defaults)")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (default: 0)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE[,VALUE...]",
                        help="override a config field of every run (repeatable); several comma-separated values "
                             "make a grid axis, e.g. --set lr=1e-3,1e-2")
    parser.add_argument("--out", default="runs", help="parent folder of the sweep folder (default: runs/)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="local worker processes running grid points in parallel (default 1: serially)")
    parser.add_argument("--threads-per-job", type=int, default=1,
                        help="torch threads of each --jobs worker (default 1)")
    parser.add_argument("--ray", action="store_true",
                        help='run each grid point as a Ray task (pip install "qtrain[dist]")')
    parser.add_argument("--address", default=None, help="Ray cluster address (default: a local Ray instance)")
    parser.add_argument("--cpus-per-run", type=float, default=1.0, help="CPUs Ray reserves per run (default 1)")


def _progress(rec: dict[str, Any], progress: Any) -> None:
    from qtrain.sweep import eta_text

    status = f"failed: {rec['error']}" if rec.get("error") else rec["run_dir"]
    point = f" {rec['point']}" if rec.get("point") else ""
    print(f"[{progress.done}/{progress.total}] {rec['preset'] or 'default'}{point} seed {rec['seed']}: {status} "
          f"({rec.get('wall_s', 0):.1f} s); {eta_text(progress)}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Run the grid, print the table; exit 1 when a run failed."""
    from qtrain.sweep import markdown_table, parse_list, sweep

    if args.address and not args.ray:
        raise ValueError(f"--address {args.address} is a Ray cluster address; add --ray to use it")
    presets = parse_list(args.presets, str, "--presets") if args.presets is not None else None
    res = sweep(args.recipe, presets, parse_list(args.seeds, int, "--seeds"), args.overrides, out=args.out,
                use_ray=args.ray, address=args.address, cpus_per_run=args.cpus_per_run, on_run=_progress,
                jobs=args.jobs, threads_per_job=args.threads_per_job)
    print(markdown_table(res.rows), end="")
    print(f"sweep folder: {res.sweep_dir} (results.md, results.csv, sweep.json)")
    for rec in res.failures:
        print(f"qtrain sweep: run {rec['preset']} {rec.get('point', '')} seed {rec['seed']} failed: {rec['error']}",
              file=sys.stderr)
    return 1 if res.failures else 0
