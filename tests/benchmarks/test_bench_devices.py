"""benchmarks/speed/bench_devices.py without a GPU: its one-line exit and its tables."""
from __future__ import annotations

import pytest
import torch

from benchmarks.speed import bench_devices
from qtrain.recipes.registry import recipe_names


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the exit of a machine without CUDA")
def test_without_cuda_the_script_says_so_in_one_line_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_devices.main([]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err == (f"bench_devices: no CUDA device (torch {torch.__version__}); use --device "
                                         "cpu for the CPU paths\n")


def test_markdown_keeps_every_column_and_marks_missing_cells() -> None:
    rows = [{"recipe": "a", "loss": 0.123456, "diff": None}, {"recipe": "b", "note": "refused: x"}]
    assert bench_devices.markdown(rows) == ["| recipe | loss | diff | note |", "|---|---|---|---|",
                                            "| a | 0.1235 | - | - |", "| b | - | - | refused: x |"]


def test_every_registered_recipe_has_a_smoke_case() -> None:
    assert set(recipe_names()) == set(bench_devices.SMOKE)
