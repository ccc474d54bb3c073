"""Refill every generated README section from the result files the benchmark scripts wrote.

    python benchmarks/update_readme.py

Each section is produced by its own script first (bench_sim.py, papers/bench_qet.py,
papers/bench_pilot*.py); this only pastes their markdown between the README markers. The qt_image
section is written by ``benchmarks/papers/qt_image_results.py --readme`` itself (it needs the run folders).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.readme_tables import README_SECTIONS, RESULTS, section_text, update_section  # noqa: E402

SECTIONS = README_SECTIONS


def main() -> None:
    for name, (fname, stop) in README_SECTIONS.items():
        path = RESULTS / fname
        if path.exists():
            update_section(name, section_text(path.read_text(), fname, stop))


if __name__ == "__main__":
    main()
