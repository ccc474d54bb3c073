"""``benchmarks/papers/bench_diffqas_*``: saved results re-render byte for byte; rows merge into saved runs."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmarks.papers import (bench_diffqas_cost, bench_diffqas_image, bench_diffqas_readme, bench_diffqas_rl,
                               bench_diffqas_series, bench_diffqas_transform)
from benchmarks.papers.diffqas_common import RESULTS, merge_runs
from benchmarks.readme_tables import README_SECTIONS, section_text


def _load(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text())


@pytest.mark.parametrize("name,render", [
    ("diffqas_image", bench_diffqas_image.report), ("diffqas_series", bench_diffqas_series.report),
    ("diffqas_series_softmax", bench_diffqas_series.report),
    ("diffqas_rl", bench_diffqas_rl.report), ("diffqas_rl_long", bench_diffqas_rl.report),
    ("diffqas_rl_rows", bench_diffqas_rl.report),
    ("diffqas_transform", bench_diffqas_transform.report), ("diffqas_cost", bench_diffqas_cost.report)])
def test_every_result_page_rerenders_from_its_json(name: str, render) -> None:
    assert render(_load(name)) == (RESULTS / f"{name}.md").read_text()


def test_readme_section_is_the_generated_file(repo_root: Path, tmp_path: Path) -> None:
    for name in ("image", "transform", "series", "series_softmax", "rl", "rl_long", "rl_rows", "cost"):
        (tmp_path / f"diffqas_{name}.json").write_text((RESULTS / f"diffqas_{name}.json").read_text())
    bench_diffqas_readme.main(["--results", str(tmp_path)])
    section = (tmp_path / "diffqas_readme.md").read_text()
    assert section == (RESULTS / "diffqas_readme.md").read_text()
    fname, stop = README_SECTIONS["diffqas"]
    readme = re.search(r"<!-- BEGIN diffqas -->\n(.*?)<!-- END diffqas -->", (repo_root / "README.md").read_text(),
                       re.S)
    assert readme is not None and section_text(section, fname, stop) == readme.group(1)


def test_series_table_has_every_column_and_row_of_table_ii() -> None:
    data = _load("diffqas_series")
    rows = {tag for r in data["runs"].values() for tag in r["models"]}
    assert rows == set(bench_diffqas_series.ROWS)
    assert {k.split("/")[0] for k in data["runs"]} == set(bench_diffqas_series.NAMES)


def test_rows_merge_into_a_saved_run_and_other_protocols_are_refused() -> None:
    old = {"run_dir": "a", "wall_time_s": 10.0, "episodes": 500, "models": {"diffqas": 1, "classical": 2}}
    new = {"run_dir": "b", "wall_time_s": 5.0, "episodes": 500, "models": {"config7": 3}}
    assert merge_runs(None, new) is new
    got = merge_runs(old, new)
    assert got == {"run_dir": "a", "run_dirs": ["a", "b"], "wall_time_s": 15.0, "episodes": 500,
                   "models": {"diffqas": 1, "classical": 2, "config7": 3}}
    assert merge_runs(got, {**new, "run_dir": "c"})["run_dirs"] == ["a", "b", "c"]
    with pytest.raises(ValueError) as exc:
        merge_runs(old, {**new, "episodes": 1500})
    assert str(exc.value) == ("cannot add rows measured under another protocol: episodes differ (500 vs 1500); "
                              "use another --out/results")


def test_variant_results_of_one_task_are_keyed_by_task() -> None:
    old = {"protocol": {"task": "fashion_1_5", "seeds": [0, 1], "epochs": 5},
           "runs": {"asinh/s0": {"test_acc": 0.5}, "scaled/s1": {"test_acc": 0.9}}}
    got = bench_diffqas_transform._keyed_by_task(old)
    assert got == {"protocol": {"seeds": [0, 1], "epochs": {"fashion_1_5": 5}},
                   "runs": {"fashion_1_5/asinh/s0": {"test_acc": 0.5}, "fashion_1_5/scaled/s1": {"test_acc": 0.9}}}
    assert re.search(r"\| scaled \| ", bench_diffqas_transform.report(
        {"protocol": got["protocol"], "runs": {k: {**v, "train_acc": 1.0, "test_loss": 0.1, "architecture": None}
                                               for k, v in got["runs"].items()}}))
