"""``qtrain run RECIPE --preset NAME [--set key=value ...]``: run or resume a recipe; print its results table.

``qtrain run RECIPE --help`` lists the recipe's config fields (name, default, help, type), read from
its config dataclass, so the help is the documentation, then the run options every recipe takes
(``--set loggers=tensorboard``, ``--set device=cuda``). ``--nproc N`` trains data-parallel in N local
processes (the same code runs under ``torchrun``). While it runs, stderr shows the run folder first, then a bar per
model in a terminal, and one line per epoch (also into files and pipes). Python:
:func:`qtrain.recipes.run`.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

__all__ = ["HELP", "HELP_ACTION", "RecipeHelp", "configure", "run", "recipe_help"]

HELP = "run or resume a recipe: qtrain run RECIPE --preset NAME [--set key=value ...]"


def recipe_help(recipe: str) -> str:
    """The config fields and presets of ``recipe`` as help text (imports the recipe).

    Raises:
        ValueError: ``recipe`` is not registered (the message lists the registered ones).
    """
    from qtrain.cli._output import field_lines
    from qtrain.config import config_fields
    from qtrain.recipes.registry import get_recipe, list_presets
    from qtrain.recipes.runner import RunOptions

    rec = get_recipe(recipe)
    lines = [f"\n{recipe}: {rec.description}", f"\npresets (--preset NAME): {', '.join(list_presets(recipe)) or '-'}",
             f"\nconfig fields of {recipe} (--set KEY=VALUE, or a preset YAML):"]
    lines += field_lines(config_fields(rec.config_cls), indent="  ")
    lines += ["\nrun options of every recipe (--set KEY=VALUE):"] + field_lines(config_fields(RunOptions), indent="  ")
    return "\n".join(lines) + "\n"


class RecipeHelp(argparse.Action):
    """``-h/--help``: the usage and options, then, after a recipe name, that recipe's config fields."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: Any = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        recipe = getattr(namespace, "recipe", None)
        text = parser.format_help()
        if recipe:
            try:
                text += recipe_help(recipe)
            except ValueError as exc:
                parser.error(str(exc))
        else:
            text += "\n`qtrain run RECIPE --help` lists the config fields of RECIPE (recipes: `qtrain ls`).\n"
        sys.stdout.write(text)
        parser.exit()


HELP_ACTION = RecipeHelp
"""The ``-h/--help`` action :func:`qtrain.cli.build_parser` gives this subcommand (default: argparse's)."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``qtrain run``."""
    parser.add_argument("recipe", nargs="?", default=None,
                        help="recipe name (see `qtrain ls`); optional with --resume")
    parser.add_argument("--preset", default=None, help="preset name of the recipe, or a path to a YAML file")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config field (repeatable); fields: `qtrain run RECIPE --help`")
    parser.add_argument("--seed", type=int, default=None, help="override the config's seed")
    parser.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue a run from its last checkpoints")
    parser.add_argument("--out", default="runs", help="parent folder of the run folder (default: runs/)")
    parser.add_argument("--nproc", default="1", metavar="N",
                        help="train data-parallel in N local processes (gloo on the CPU, NCCL on GPUs; rank 0 writes "
                             "the run folder); under torchrun leave it out")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress output (by default stderr shows the run folder first, then a bar per "
                             "model in a terminal and one line per epoch)")


def _nproc(text: str) -> int:
    """``--nproc`` as an int (checked further by the runner), or one line naming it."""
    try:
        return int(text)
    except ValueError:
        from qtrain._fileio import short

        raise ValueError(f"--nproc {short(text)} is not an integer; use --nproc N with N >= 1 processes "
                         "(e.g. --nproc 2)") from None


def _is_main() -> bool:
    import os

    return os.environ.get("RANK", "0") == "0"


def run(args: argparse.Namespace) -> int:
    """Train, then print the results table and the run folder."""
    from qtrain.cli._output import console, print_table
    from qtrain.recipes.runner import run as run_recipe

    res = run_recipe(args.recipe, preset=args.preset, overrides=args.overrides, seed=args.seed, resume=args.resume,
                     out=args.out, quiet=args.quiet, nproc=_nproc(args.nproc))
    if not _is_main():
        return 0  # under torchrun, rank 0 prints the table
    print_table(res.table, title=f"{res.summary['recipe']} / {res.summary['preset']} / seed {res.summary['seed']}")
    console().print(f"wall time {res.summary['wall_time_s']:.1f} s; run folder: {res.run_dir}")
    return 0
