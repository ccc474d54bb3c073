"""The one mean ± std (sample std), markdown/HTML tables of dict rows, the generic section's rows."""
from __future__ import annotations

import math
import statistics
from pathlib import Path

import pytest

from qtrain.report import Run, format_mean_std, html_table, markdown_rows, mean_std
from qtrain.report.generic import generic_section, summary_rows


def test_mean_std_is_the_sample_std() -> None:
    values = [81.43, 79.02, 83.91]
    m, s = mean_std(values)
    assert m == pytest.approx(sum(values) / 3, rel=1e-15)
    assert s == pytest.approx(math.sqrt(sum((v - m) ** 2 for v in values) / 2), rel=1e-14)
    assert (m, s) == (statistics.mean(values), statistics.stdev(values))
    assert mean_std([3.5]) == (3.5, 0.0)


def test_format_mean_std_variants() -> None:
    assert format_mean_std([0.25, 0.5, 0.75], 3) == "0.500 ± 0.250"
    assert format_mean_std([17.0]) == "17.00 ± 0.00" and format_mean_std([17.0], 1, show_zero_std=False) == "17.0"
    assert format_mean_std([]) == "-" and format_mean_std([], empty="") == ""


def test_bad_values_raise() -> None:
    with pytest.raises(ValueError, match=r"^values is empty; mean ± std needs at least one value"):
        mean_std([])
    with pytest.raises(ValueError, match=r"^values hold \[nan\] \(not finite\); mean ± std needs finite numbers"):
        format_mean_std([1.0, float("nan")])


def test_tables_take_the_union_of_the_columns() -> None:
    rows = [{"model": "a", "acc": 1.5}, {"model": "b", "params": 12345}]
    assert markdown_rows(rows) == ("| model | acc | params |\n|---|---:|---:|\n| a | 1.5 | - |\n"
                                   "| b | - | 12,345 |\n")
    assert markdown_rows(rows, align="left").splitlines()[1] == "|---|---|---|"
    assert html_table([{"x<": "&"}]) == ('<table class="ours-vs-paper"><thead><tr><th>x&lt;</th></tr></thead>'
                                        "<tbody><tr><td>&amp;</td></tr></tbody></table>")
    assert markdown_rows([]) == "(no finished runs)\n"
    with pytest.raises(ValueError, match=r"^align='right' is unknown; use 'auto' or 'left'"):
        markdown_rows(rows, align="right")


def test_generic_rows_use_the_runs_table_else_their_scalars() -> None:
    with_table = Run(Path("r1"), {"recipe": "x"}, {}, {"table": [{"model": "m", "acc": 0.9}], "seed": 3})
    without = Run(Path("r2"), {"recipe": "x"}, {}, {"seed": 1, "wall_time_s": 2.5, "models": {}, "note": "ok",
                                                    "flag": True, "recipe": "x"})
    unfinished = Run(Path("r3"), {"recipe": "x"}, {}, None)
    assert summary_rows([with_table, without, unfinished]) == [
        {"run": "r1", "model": "m", "acc": 0.9}, {"run": "r2", "seed": 1, "wall_time_s": 2.5, "note": "ok"}]
    section = generic_section("x", [with_table])
    assert section.curves is None and section.title == "x: runs" and section.tables[0].title == "Results per run"
