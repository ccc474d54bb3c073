"""Refill every generated README section from the result files the benchmark scripts wrote.

    python benchmarks/update_readme.py

Each section is produced by its own script first (bench_sim.py, bench_qet.py, bench_pilot.py);
this only pastes their markdown between the README markers. The qt_image section is written by
``benchmarks/qt_image_results.py --readme`` itself (it needs the run folders).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.readme_tables import update_section  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
# section -> (result file, heading at which to stop: the rest stays in the file)
SECTIONS = {
    "sim": ("sim.md", None),
    "qet": ("qet_table2.md", "## Accuracy per SNR"),
    "pilot": ("pilot_readme.md", None),  # composed by bench_pilot*.py from pilot_table2/heuristics/fig3c.md
    "qt_step": ("qt_step.md", None),
}


def main() -> None:
    for name, (fname, stop) in SECTIONS.items():
        path = RESULTS / fname
        if not path.exists():
            continue
        text = path.read_text()
        if stop and stop in text:
            text = text[: text.index(stop)] + f"(more in `benchmarks/results/{fname}`)\n"
        lines = text.splitlines()
        if lines and lines[0].startswith("# "):  # the README supplies its own heading
            lines = lines[1:]
        update_section(name, "\n".join(lines).strip() + "\n")


if __name__ == "__main__":
    main()
