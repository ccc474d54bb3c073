"""``qtrain export RUN_DIR``: write ``RUN_DIR/model.safetensors`` from the run's last checkpoint.

Python: :func:`qtrain.recipes.export`.
"""
from __future__ import annotations

import argparse

__all__ = ["HELP", "configure", "run"]

HELP = "write RUN_DIR/model.safetensors from the run's last checkpoint"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``qtrain export``."""
    parser.add_argument("run_dir", help="a run folder made by `qtrain run`")


def run(args: argparse.Namespace) -> int:
    """Export, then print the file written."""
    from qtrain.cli._output import console
    from qtrain.recipes.runner import export

    console().print(f"wrote {export(args.run_dir)}")
    return 0
