"""benchmarks/speed/bench_gpu.py without a GPU: its one-line exit, and targets judged only from measured rows."""
from __future__ import annotations

import pytest
import torch

from benchmarks.speed import bench_gpu


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the exit of a machine without CUDA")
def test_without_cuda_the_script_says_so_in_one_line_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_gpu.main([]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.count("\n") == 1
    assert out.err.startswith("bench_gpu: no CUDA device (torch ") and "use --compile-only" in out.err


def _rows(*ms: float | None) -> list[dict]:
    names = ["qtrain Triton engine", "qtrain Triton engine, CUDA graph", "qtrain torch engine", "peer A", "peer B"]
    return [{"impl": n, "ms": v} for n, v in zip(names, ms)]


def test_circuit_targets_are_judged_from_the_best_qtrain_row_and_the_fastest_peer() -> None:
    case = ("ry_cnot 19q x 323", "ry_cnot", 19, 323, 0, 10.0)
    met = "\n".join(bench_gpu.circuits_md([(case, _rows(12.0, 8.0, 600.0, 50.0, 40.0))]))
    assert "<= 10.0 ms: met; >= 5x fastest peer: met" in met and "| 5.0x faster |" in met
    slow = "\n".join(bench_gpu.circuits_md([(case, _rows(12.0, 11.0, 600.0, 50.0, 40.0))]))
    assert "<= 10.0 ms: NOT met; >= 5x fastest peer: NOT met" in slow and "| 3.6x faster |" in slow
    unmeasured = "\n".join(bench_gpu.circuits_md([(case, _rows(None, None, 600.0, None, None))]))
    assert "<= 10.0 ms: -; >= 5x fastest peer: -" in unmeasured  # nothing measured: nothing claimed


def test_step_targets_use_the_best_variant_ratio() -> None:
    case = ("MNIST CNN vs QT-121", "qt_image", "mnist_qt121", 128, (1, 28, 28), 10, 1.5)
    rows = [{"impl": "classical", "ms": 2.0, "ratio": 1.0}, {"impl": "QT cuda", "ms": 3.2, "ratio": 1.6},
            {"impl": "QT graph", "ms": 2.8, "ratio": 1.4}, {"impl": "QT peer", "ms": None, "ratio": None,
                                                               "note": "failed: X"}]
    text = "\n".join(bench_gpu.steps_md([(case, rows)]))
    assert "best <= 1.5x: met" in text and "| 1.40x |" in text and "failed: X" in text
