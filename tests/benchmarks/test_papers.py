"""``benchmarks/papers/``: saved results re-render byte for byte; the heuristics script merges re-run rows."""
from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import pytest

from benchmarks.papers import bench_pilot, bench_pilot_fig3c, bench_pilot_heuristics, bench_qet
from benchmarks.readme_tables import README_SECTIONS, RESULTS, current_paths, section_text
from qtrain.wireless import TABLE_II


def _readme_section(repo_root: Path, name: str) -> str:
    text = (repo_root / "README.md").read_text()
    return re.search(rf"<!-- BEGIN {name} -->\n(.*?)<!-- END {name} -->", text, re.S).group(1)  # type: ignore[union-attr]


def test_pilot_results_and_readme_section_rerender_from_the_saved_json(tmp_path: Path, repo_root: Path) -> None:
    for name in [p.name for p in RESULTS.glob("pilot_table2_*.json")] + ["pilot_fig3c.md"]:
        shutil.copy(RESULTS / name, tmp_path / name)
    assert bench_pilot.write(tmp_path) == (RESULTS / "pilot_table2.md").read_text()
    raw = json.loads((RESULTS / "pilot_heuristics.json").read_text())
    (tmp_path / "pilot_heuristics.md").write_text(bench_pilot_heuristics.render(raw))
    assert (tmp_path / "pilot_heuristics.md").read_text() == (RESULTS / "pilot_heuristics.md").read_text()
    bench_pilot.compose_readme(tmp_path)
    assert (tmp_path / "pilot_readme.md").read_text() == (RESULTS / "pilot_readme.md").read_text()
    fname, stop = README_SECTIONS["pilot"]
    assert section_text((tmp_path / fname).read_text(), fname, stop) == _readme_section(repo_root, "pilot")


@pytest.mark.slow
def test_fig3c_rerenders_from_the_saved_json(tmp_path: Path) -> None:
    raw = json.loads((RESULTS / "pilot_fig3c.json").read_text())
    text = bench_pilot_fig3c.render(raw["preset"], raw["seeds"], raw["runs"], raw["wall_min"], results=tmp_path)
    assert text == (RESULTS / "pilot_fig3c.md").read_text()
    assert (tmp_path / "pilot_fig3c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_qet_readme_section_is_its_result_file(repo_root: Path) -> None:
    fname, stop = README_SECTIONS["qet"]
    assert section_text((RESULTS / fname).read_text(), fname, stop) == _readme_section(repo_root, "qet")


def test_recorded_commands_name_the_moved_scripts() -> None:
    assert current_paths("python benchmarks/bench_pilot.py --rows a; python benchmarks/bench_pilot_fig3c.py") == (
        "python benchmarks/papers/bench_pilot.py --rows a; python benchmarks/papers/bench_pilot_fig3c.py")
    assert current_paths("python benchmarks/papers/bench_qet.py") == "python benchmarks/papers/bench_qet.py"


def test_heuristics_rows_merge_into_the_saved_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_pilot_heuristics, "RESULTS", tmp_path)
    args = ["--n", "3", "--seed", "5", "--subset", "0"]
    bench_pilot_heuristics.cli(["--rows", "small_K6", *args])  # crashed with KeyError: 'small_K15' before
    first = json.loads((tmp_path / "pilot_heuristics.json").read_text())
    assert list(first["closed_form"]) == ["small_K6"] and first["meta"]["n"] == 3
    bench_pilot_heuristics.cli(["--rows", "small_K9", *args])
    merged = json.loads((tmp_path / "pilot_heuristics.json").read_text())
    assert list(merged["closed_form"]) == list(merged["paper_code_compat"]) == ["small_K6", "small_K9"]
    assert merged["closed_form"]["small_K6"] == first["closed_form"]["small_K6"]
    assert merged["meta"]["updates"] == ["python benchmarks/papers/bench_pilot_heuristics.py --n 3 --seed 5 "
                                         "--subset 0 --rows small_K9"]
    text = (tmp_path / "pilot_heuristics.md").read_text()
    assert "| small_K6 | " in text and "| small_K9 | " in text and "Rows re-run since: `python" in text
    assert (tmp_path / "pilot_readme.md").is_file()
    with pytest.raises(ValueError, match=r"pilot_heuristics.json was made with n=3 but this run uses n=4; re-run "
                                         r"every row \(no --rows\) or pass the saved values"):
        bench_pilot_heuristics.cli(["--rows", "small_K9", "--n", "4", "--seed", "5", "--subset", "0"])
    assert set(TABLE_II) > set(merged["closed_form"])


def test_qet_table_2_markdown_from_saved_rows() -> None:
    rows = {name: [{"overall_acc": acc, "peak_acc": 0.8, "T_e_s": te, "delta_c_pct": dc, "params": {"trainable": n}}
                   for acc, te in runs] for name, n, dc, runs in
            (("MC-Net", 121_611, 0.0, [(0.44, 40.0), (0.42, 44.0)]), ("QET-6", 35_440, 70.8579, [(0.40, 30.0)]))}
    lines = bench_qet._lines(bench_qet.table2(rows, {"MC-Net": [0.03, 0.05, 0.04], "QET-6": [0.05]}))
    assert lines[:2] == ["| model | trainable | dC % (eq. 14) | acc % | peak acc % (ours) | acc. loss pts | T_e s | "
                         "T_e ratio | s/step interleaved (ratio) |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    assert lines[2] == ("| MC-Net | 121,611 / 121,611 | - / - | 43.0 ± 1.4 / 58.8 | 80.0 ± 0.0 | - / - | "
                        "42.00 ± 2.83 / 17.1 | 1.00x / 1.00x | 0.040 (1.00x) |")
    assert lines[3] == ("| QET-6 | 35,440 / 35,440 | 70.86 / 70.85 | 40.0 / 59.4 | 80.0 | 3.00 / -0.6 | "
                        "30.00 / 126.5 | 0.71x / 7.40x | 0.050 (1.25x) |")


def test_paper_scripts_do_not_import_the_cli(repo_root: Path) -> None:
    for path in (repo_root / "benchmarks" / "papers").glob("*.py"):
        tree = ast.parse(path.read_text())
        names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [m for m in names if m == "qtrain.cli" or m.startswith("qtrain.cli.")], path.name


def test_every_relative_link_of_the_readme_and_contributing_points_to_a_file(repo_root: Path) -> None:
    for page in ("README.md", "CONTRIBUTING.md"):
        links = re.findall(r"\]\(([^)\s]+)\)", (repo_root / page).read_text())
        local = [lk.split("#")[0] for lk in links if not re.match(r"[a-z]+:", lk) and not lk.startswith("#")]
        assert len(local) >= (3 if page == "README.md" else 0), page
        assert [lk for lk in local if not (repo_root / lk).exists()] == [], page
