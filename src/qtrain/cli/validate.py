"""``qtrain validate FILE``: check a preset YAML against its recipe's config.

Prints ``OK FILE`` (exit 0) or every problem of the file in one error (exit 2).
Python: :func:`qtrain.recipes.validate` returns the config or raises :class:`qtrain.config.ConfigError`.
"""
from __future__ import annotations

import argparse

__all__ = ["HELP", "configure", "run"]

HELP = "check a preset YAML against its recipe's config (exit 2 with every problem)"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``qtrain validate``."""
    parser.add_argument("path", help="a preset YAML file")
    parser.add_argument("--recipe", default=None, help="the recipe (default: the name of the file's folder)")


def run(args: argparse.Namespace) -> int:
    """Validate (a ConfigError reaches :func:`qtrain.cli.main`, which prints it and exits 2)."""
    from qtrain.recipes.runner import validate

    validate(args.path, args.recipe)
    print(f"OK {args.path}")
    return 0
