"""``qtrain ls [RECIPE]``: the recipes with their paper presets; for one recipe also its config fields.

Python: :func:`qtrain.recipes.ls` returns the same listing as data.
"""
from __future__ import annotations

import argparse

__all__ = ["HELP", "configure", "run"]

HELP = "list recipes, their paper presets and (for one recipe) its config fields"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``qtrain ls``."""
    parser.add_argument("recipe", nargs="?", default=None, help="also list this recipe's config fields (for --set)")


def run(args: argparse.Namespace) -> int:
    """Print each recipe, its presets (with their header lines) and, for one recipe, its fields."""
    from qtrain.cli._output import console, field_lines
    from qtrain.recipes.registry import ls

    out = console()
    for entry in ls(args.recipe):
        out.print(f"[bold]{entry['recipe']}[/bold]  {entry['description']}")
        for preset, header in entry["presets"].items():
            out.print(f"  --preset {preset:<22} {header}", markup=False)
        if "fields" in entry:
            out.print("\n  config fields (qtrain run ... --set key=value):")
            for line in field_lines(entry["fields"]):
                out.print(line, markup=False)
    return 0
