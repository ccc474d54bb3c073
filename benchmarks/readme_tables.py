"""Paste generated result tables into README.md between ``<!-- BEGIN name -->`` / ``<!-- END name -->``."""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def update_section(name: str, text: str, readme: Path = ROOT / "README.md") -> None:
    """Replace the README section ``name`` with ``text`` (the markers must exist)."""
    src = readme.read_text()
    pattern = re.compile(rf"(<!-- BEGIN {re.escape(name)} -->\n).*?(<!-- END {re.escape(name)} -->)", re.S)
    if not pattern.search(src):
        raise ValueError(f"README.md has no section markers for {name!r}")
    readme.write_text(pattern.sub(lambda m: m.group(1) + text.rstrip() + "\n" + m.group(2), src))


if __name__ == "__main__":  # python benchmarks/readme_tables.py NAME FILE
    update_section(sys.argv[1], Path(sys.argv[2]).read_text())
