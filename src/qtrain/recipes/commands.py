"""``qtrain ls | run | export | validate``: argument set-up and console output for the CLI table.

Importing this module is cheap (argparse only); the recipe machinery is imported when a command
runs. The typed Python functions behind the commands are :func:`qtrain.recipes.run`,
:func:`qtrain.recipes.export`, :func:`qtrain.recipes.validate` and :func:`ls`.
"""
from __future__ import annotations

import argparse
import functools
import sys
from typing import Any, Callable, Sequence

__all__ = ["ls", "ls_configure", "ls_run", "run_configure", "run_run", "export_configure", "export_run",
           "validate_configure", "validate_run", "print_table"]


def _user_errors(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Missing files are user errors: one line on stderr and exit status 2 (ValueErrors: see qtrain.cli)."""

    @functools.wraps(fn)
    def wrapper(a: argparse.Namespace) -> int:
        try:
            return fn(a)
        except FileNotFoundError as exc:
            print(f"qtrain {a.command}: error: {exc}", file=sys.stderr)
            return 2

    return wrapper


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def print_table(rows: Sequence[dict[str, Any]], title: str = "") -> None:
    """Print result rows (dicts with the same keys) as a table on stdout."""
    from rich.table import Table

    if not rows:
        return
    table = Table(title=title or None)
    for key in rows[0]:
        table.add_column(str(key), justify="left" if key == "model" else "right")
    for row in rows:
        table.add_row(*(f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v) for v in row.values()))
    _console().print(table)


# ----------------------------------------------------------------------------- ls
def ls(recipe: str | None = None) -> list[dict[str, Any]]:
    """Recipes with their presets (name -> header line) and, for one recipe, its config fields."""
    from qtrain.config import config_fields
    from qtrain.recipes.registry import get_recipe, list_presets, preset_header, recipe_names

    out = []
    for name in [recipe] if recipe else recipe_names():
        rec = get_recipe(name)
        entry: dict[str, Any] = {"recipe": name, "description": rec.description,
                                 "presets": {p: preset_header(path) for p, path in list_presets(name).items()}}
        if recipe:
            entry["fields"] = config_fields(rec.config_cls)
        out.append(entry)
    return out


def ls_configure(p: argparse.ArgumentParser) -> None:
    """Arguments of ``qtrain ls``."""
    p.add_argument("recipe", nargs="?", default=None, help="also list this recipe's config fields (for --set)")


@_user_errors
def ls_run(a: argparse.Namespace) -> int:
    """``qtrain ls [recipe]``."""
    console = _console()
    for entry in ls(a.recipe):
        console.print(f"[bold]{entry['recipe']}[/bold]  {entry['description']}")
        for preset, header in entry["presets"].items():
            console.print(f"  --preset {preset:<22} {header}", markup=False)
        if "fields" in entry:
            console.print("\n  config fields (qtrain run ... --set key=value):")
            for f in entry["fields"]:
                default = repr(list(f.default) if isinstance(f.default, tuple) else f.default)
                console.print(f"    {f.name:<25} = {default:<12} {f.help}  [{f.type_name}]", markup=False)
    return 0


# ----------------------------------------------------------------------------- run
def run_configure(p: argparse.ArgumentParser) -> None:
    """Arguments of ``qtrain run``."""
    p.add_argument("recipe", nargs="?", default=None, help="recipe name (see `qtrain ls`); optional with --resume")
    p.add_argument("--preset", default=None, help="preset name of the recipe, or a path to a YAML file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field (repeatable); fields: `qtrain ls <recipe>`")
    p.add_argument("--seed", type=int, default=None, help="override the config's seed")
    p.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue a run from its last checkpoints")
    p.add_argument("--out", default="runs", help="parent folder of the run folder (default: runs/)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


@_user_errors
def run_run(a: argparse.Namespace) -> int:
    """``qtrain run``: train, then print the results table and the run folder."""
    from qtrain.recipes.runner import run

    res = run(a.recipe, preset=a.preset, overrides=a.overrides, seed=a.seed, resume=a.resume, out=a.out,
              quiet=a.quiet)
    print_table(res.table, title=f"{res.summary['recipe']} / {res.summary['preset']} / seed {res.summary['seed']}")
    _console().print(f"wall time {res.summary['wall_time_s']:.1f} s; run folder: {res.run_dir}")
    return 0


# ----------------------------------------------------------------------------- export
def export_configure(p: argparse.ArgumentParser) -> None:
    """Arguments of ``qtrain export``."""
    p.add_argument("run_dir", help="a run folder made by `qtrain run`")


@_user_errors
def export_run(a: argparse.Namespace) -> int:
    """``qtrain export RUN_DIR``: write model.safetensors from the last checkpoint."""
    from qtrain.recipes.runner import export

    _console().print(f"wrote {export(a.run_dir)}")
    return 0


# ----------------------------------------------------------------------------- validate
def validate_configure(p: argparse.ArgumentParser) -> None:
    """Arguments of ``qtrain validate``."""
    p.add_argument("path", help="a preset YAML file")
    p.add_argument("--recipe", default=None, help="the recipe (default: the name of the file's folder)")


@_user_errors
def validate_run(a: argparse.Namespace) -> int:
    """``qtrain validate FILE``: ``OK`` (exit 0) or every problem (exit 2, via the CLI's ValueError handler)."""
    from qtrain.recipes.runner import validate

    validate(a.path, a.recipe)
    print(f"OK {a.path}")
    return 0
