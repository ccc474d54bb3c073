"""``qtrain report PATH``: PNG plots and one HTML page of a run, a sweep or a folder of runs.

Python: :func:`qtrain.recipes.report` returns the page's path (each recipe's report hook adds its paper's
tables and figures).
"""
from __future__ import annotations

import argparse

__all__ = ["HELP", "configure", "run"]

HELP = "PNG plots + one HTML page (curves, weights, accuracy vs blocks, gap, ours vs paper) of a run or sweep"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``qtrain report``."""
    parser.add_argument("path", help="a run folder (qtrain run) or a sweep folder (qtrain sweep), or a folder of runs")
    parser.add_argument("--out", default=None, help="where the PNGs and report.html go (default: PATH/report/)")


def run(args: argparse.Namespace) -> int:
    """Write the plots and ``report.html``; print where (a wrong path exits 2 through :func:`qtrain.cli.main`)."""
    from qtrain.recipes import report

    page = report(args.path, args.out)
    print(f"wrote {page} ({len(list(page.parent.glob('*.png')))} PNG files)")
    return 0
