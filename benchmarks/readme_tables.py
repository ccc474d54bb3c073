"""Paste generated result tables into README.md between ``<!-- BEGIN name -->`` / ``<!-- END name -->``.

Shared by the speed scripts (``benchmarks/bench_sim.py`` ...) and the paper scripts
(``benchmarks/papers/``); ``benchmarks/update_readme.py`` refills every section at once.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

README_SECTIONS: dict[str, tuple[str, str | None]] = {
    "qt_image": ("qt_image_readme.md", None),  # written by benchmarks/papers/qt_image_results.py
    "qet": ("qet_table2.md", "## Accuracy per SNR"),
    # composed by papers/bench_pilot*.py from pilot_table2/heuristics/fig3c.md; the README keeps the default rate
    "pilot": ("pilot_readme.md", "#### Learners, public code's rate formula"),
    "diffqas": ("diffqas_readme.md", None),  # papers/bench_diffqas_readme.py
    "v2x": ("v2x_readme.md", None),  # papers/bench_v2x_*.py: all five modules (issue 15 wants each in the README)
    "sim": ("sim.md", "### 2 threads"),
    "qt_step": ("qt_step.md", None),
    "gpu": ("gpu_readme.md", "### Running the benchmark on a GPU machine"),  # speed/bench_gpu.py
    "devices": ("gpu2_readme.md", None),  # speed/bench_devices.py writes devices.md; this is its README text
}
"""README section -> (result file, heading at which to stop: the rest stays in the file)."""

MOVED = {f"benchmarks/{name}.py": f"benchmarks/papers/{name}.py"
         for name in ("bench_qet", "bench_pilot", "bench_pilot_heuristics", "bench_pilot_fig3c")}
"""Scripts moved into ``benchmarks/papers/``: commands recorded in saved results before the move name the old path."""


def current_paths(command: str) -> str:
    """A recorded command with moved scripts' paths brought up to date."""
    for old, new in MOVED.items():
        command = re.sub(rf"(?<![\w/]){re.escape(old)}", new, command)
    return command


def section_text(text: str, fname: str, stop: str | None = None, level: int = 4) -> str:
    """A result file as a README section: cut at ``stop`` (pointing to the file), without its leading
    heading (the README supplies its own), and with its other headings at ``level`` or deeper, so they
    nest under the README's ``###`` paper headings."""
    if stop and stop in text:
        text = text[: text.index(stop)] + f"(more in `benchmarks/results/{fname}`)\n"
    lines = text.strip().splitlines()
    if lines and lines[0].startswith("#"):
        lines = lines[1:]
    depths = [len(line) - len(line.lstrip("#")) for line in lines if re.match(r"#+ ", line)]
    shift = max(0, level - min(depths)) if depths else 0
    lines = ["#" * shift + line if re.match(r"#+ ", line) else line for line in lines]
    return "\n".join(lines).strip() + "\n"


def update_section(name: str, text: str, readme: Path = ROOT / "README.md") -> None:
    """Replace the README section ``name`` with ``text`` (the markers must exist)."""
    src = readme.read_text()
    pattern = re.compile(rf"(<!-- BEGIN {re.escape(name)} -->\n).*?(<!-- END {re.escape(name)} -->)", re.S)
    if not pattern.search(src):
        raise ValueError(f"README.md has no section markers for {name!r}")
    readme.write_text(pattern.sub(lambda m: m.group(1) + text.rstrip() + "\n" + m.group(2), src))


if __name__ == "__main__":  # python benchmarks/readme_tables.py NAME FILE
    update_section(sys.argv[1], Path(sys.argv[2]).read_text())
