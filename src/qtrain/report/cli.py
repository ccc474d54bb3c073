"""``qtrain report PATH``: arguments and console output (argparse only; plotting loads when it runs)."""
from __future__ import annotations

import argparse

__all__ = ["report_configure", "report_run"]


def report_configure(p: argparse.ArgumentParser) -> None:
    """Arguments of ``qtrain report``."""
    p.add_argument("path", help="a run folder (qtrain run) or a sweep folder (qtrain sweep), or a folder of runs")
    p.add_argument("--out", default=None, help="where the PNGs and report.html go (default: PATH/report/)")


def report_run(a: argparse.Namespace) -> int:
    """``qtrain report PATH``: write the plots and ``report.html``; print where."""
    import sys

    from qtrain.recipes.runner import report

    try:
        page = report(a.path, a.out)
    except FileNotFoundError as exc:  # a wrong path is a user error: one line, exit 2
        print(f"qtrain report: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {page} ({len(list(page.parent.glob('*.png')))} PNG files)")
    return 0
