"""The ``qtrain`` command line: a table of typed subcommands, each also callable from Python.

``qtrain --version`` | ``qtrain bench sim`` (more subcommands register in :data:`COMMANDS`).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Callable, Sequence

from qtrain._version import __version__

__all__ = ["main", "COMMANDS", "Command"]


@dataclass(frozen=True)
class Command:
    """A subcommand: ``configure`` adds its arguments, ``run`` gets the parsed namespace."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _bench_configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", choices=["sim"], help="what to benchmark")
    p.add_argument("--quick", action="store_true", help="small cases only (seconds), no peers")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats per case (median reported)")
    p.add_argument("--peers", action="store_true", help="also time peer libraries set up by benchmarks/setup_peers.sh")
    p.add_argument("--out", default=None, help="write the markdown table to this file")


def _bench_run(a: argparse.Namespace) -> int:
    from qtrain.bench import run_sim_benchmark

    table = run_sim_benchmark(quick=a.quick, threads=a.threads, repeats=a.repeats, peers=a.peers, out=a.out)
    print(table)
    return 0


from qtrain.recipes import commands as _recipe_cmds  # noqa: E402  (argparse only; recipes load when run)


def _lazy(module: str, name: str) -> Callable[..., int]:
    """A function of ``module`` imported on use (``qtrain --help`` stays cheap)."""
    import importlib

    return getattr(importlib.import_module(module), name)


COMMANDS: dict[str, Command] = {
    "bench": Command("time the simulator (and peers) on the Quantum-Train workloads", _bench_configure, _bench_run),
    "ls": Command("list recipes, their paper presets and (for one recipe) its config fields",
                  _recipe_cmds.ls_configure, _recipe_cmds.ls_run),
    "run": Command("run or resume a recipe: qtrain run RECIPE --preset NAME [--set key=value ...]",
                   _recipe_cmds.run_configure, _recipe_cmds.run_run),
    "export": Command("write RUN_DIR/model.safetensors from the run's last checkpoint",
                      _recipe_cmds.export_configure, _recipe_cmds.export_run),
    "validate": Command("check a preset YAML against its recipe's config (exit 2 with every problem)",
                        _recipe_cmds.validate_configure, _recipe_cmds.validate_run),
    "sweep": Command("run presets x seeds (serially or on Ray) and tabulate mean ± std: qtrain sweep RECIPE --presets a,b",
                     lambda p: _lazy("qtrain.sweep", "sweep_configure")(p), lambda a: _lazy("qtrain.sweep", "sweep_run")(a)),
    "report": Command("PNG plots + one HTML page (curves, weights, accuracy vs blocks, gap, ours vs paper) of a run or sweep",
                      lambda p: _lazy("qtrain.report.cli", "report_configure")(p),
                      lambda a: _lazy("qtrain.report.cli", "report_run")(a)),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qtrain", description="Quantum-Train and hybrid quantum-classical models.")
    parser.add_argument("--version", action="version", version=f"qtrain {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, cmd in COMMANDS.items():
        cmd.configure(sub.add_parser(name, help=cmd.help, description=cmd.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``qtrain`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command].run(args)
    except ValueError as exc:  # user errors: one clear line, no traceback
        print(f"qtrain {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
