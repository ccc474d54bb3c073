"""The ``qtrain`` command line: a table of subcommands, one module each, each wrapping a typed library function.

``qtrain ls | run | sweep | bench | report | export | validate``. Every subcommand module has
``HELP`` (one line), ``configure(parser)`` (its arguments; argparse only, so ``qtrain --help`` does
not import torch) and ``run(args) -> int``, which calls the library function that returns data
and prints it. The same functions are callable from Python:

=========  ==========================  ================================================
command    module                      library function
=========  ==========================  ================================================
ls         :mod:`qtrain.cli.ls`        :func:`qtrain.recipes.ls`
run        :mod:`qtrain.cli.run`       :func:`qtrain.recipes.run`
sweep      :mod:`qtrain.cli.sweep`     :func:`qtrain.sweep.sweep`
bench      :mod:`qtrain.cli.bench`     :func:`qtrain.bench.run_sim_benchmark`
report     :mod:`qtrain.cli.report`    :func:`qtrain.report.build_report`
export     :mod:`qtrain.cli.export`    :func:`qtrain.recipes.export`
validate   :mod:`qtrain.cli.validate`  :func:`qtrain.recipes.validate`
=========  ==========================  ================================================

User errors (``ValueError`` including ``ConfigError``, missing files, a missing optional extra)
print one ``qtrain <cmd>: error: ...`` line on stderr and exit 2, without a traceback.

Example:
    >>> from qtrain.cli import main
    >>> main(["validate", "src/qtrain/recipes/quantum_train/presets/qt_image/mnist_qt16.yaml"])  # doctest: +SKIP
    OK src/qtrain/recipes/quantum_train/presets/qt_image/mnist_qt16.yaml
    0
"""
from __future__ import annotations

import argparse
import sys
from typing import Protocol, Sequence

from qtrain._version import __version__
from qtrain.cli import bench, export, ls, report, run, sweep, validate

__all__ = ["COMMANDS", "Subcommand", "build_parser", "main"]


class Subcommand(Protocol):
    """What a subcommand module provides (modules satisfy this protocol structurally)."""

    HELP: str

    def configure(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


COMMANDS: dict[str, Subcommand] = {
    "ls": ls, "run": run, "sweep": sweep, "bench": bench, "report": report, "export": export, "validate": validate,
}
"""Subcommand name -> module, in the order ``qtrain --help`` lists them."""

_USER_ERRORS = (ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)


def build_parser() -> argparse.ArgumentParser:
    """The ``qtrain`` parser with one subparser per entry of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(prog="qtrain", description="Quantum-Train and hybrid quantum-classical models.")
    parser.add_argument("--version", action="version", version=f"qtrain {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, cmd in COMMANDS.items():
        p = sub.add_parser(name, help=cmd.HELP, description=cmd.HELP, add_help=False)
        # a module may bring its own help action (`qtrain run RECIPE --help` adds the recipe's fields)
        p.add_argument("-h", "--help", action=getattr(cmd, "HELP_ACTION", "help"),
                       help="show this help message and exit")
        cmd.configure(p)
    return parser


def _fail(command: str, exc: BaseException) -> int:
    print(f"qtrain {command}: error: {exc}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``qtrain`` console script; returns the exit status.

    Args:
        argv: the arguments after ``qtrain`` (default: ``sys.argv[1:]``).

    Returns:
        0 on success, 1 when a sweep had failed runs, 2 on a usage or user error (one line on stderr).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors: argparse has printed them already
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command].run(args)
    except _USER_ERRORS as exc:
        return _fail(args.command, exc)
    except ImportError as exc:  # a missing optional extra names its `pip install "qtrain[...]"`
        if "pip install" not in str(exc):
            raise
        return _fail(args.command, exc)
    except KeyboardInterrupt:
        print(f"qtrain {args.command}: interrupted", file=sys.stderr)
        return 130
