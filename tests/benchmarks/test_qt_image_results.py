"""benchmarks/qt_image_results.py: the issue-17 target check and the tables, on hand-made models."""
from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.qt_image_results import Model, max_drop_after, pm, protocol_table, stats, target_check


def _model(plan: str, name: str, seed: int, curve: list[float], test: float, last: float | None = None) -> Model:
    result = {"test_acc": test / 100, "last_test_acc": (last if last is not None else curve[-1]) / 100,
              "selected_epoch": curve.index(max(curve)) + 1, "gap": 0.01, "train_acc": test / 100 + 0.01,
              "params": {"trainable": 1822 if name == "QT-121" else 6690}}
    return Model(plan, "", "fast", "fashion", name, seed, result, [{"test_acc": c / 100} for c in curve], {}, 60.0,
                 Path(f"/runs/{plan}/{name}/{seed}"))


def _curve(*accs: float) -> list[dict[str, float]]:
    return [{"test_acc": a / 100} for a in accs]


def test_max_drop_counts_only_after_epoch_3() -> None:
    assert max_drop_after(_curve(80.0, 70.0, 81.0, 80.0, 82.0, 80.4)) == pytest.approx(1.6)
    assert max_drop_after(_curve(80.0, 70.0, 60.0, 85.0, 84.0)) == pytest.approx(1.0)
    assert max_drop_after(_curve(50.0, 60.0, 70.0)) == 0.0


def test_stats_and_pm() -> None:
    assert stats([1.0, 2.0, 3.0]) == (2.0, 1.0, 1.0, 3.0)
    assert pm([86.0, 87.0]) == "86.50 ± 0.71 [86.00-87.00]" and pm([86.0]) == "86.00 ± 0.00" and pm([]) == "-"


def test_target_check_verdicts() -> None:
    good = [_model("fashion_fast", "QT-121", s, [80.0, 82.0, 84.0, 85.0, 86.0], 86.0 + 0.1 * s) for s in range(5)]
    text = target_check(good)
    assert "Mean 86.20 % (target >= 82 %: met), std 0.16 points (target <= 0.7: met), min-max 86.00-86.40;" in text
    assert "largest drop 0.00 points (target <= 1.5: met); 1,822 trainable parameters (<= 1,822: met)" in text
    bad = good[:4] + [_model("fashion_fast", "QT-121", 4, [80.0, 82.0, 84.0, 81.0, 83.0], 84.0)]
    text = target_check(bad)
    assert "std 0.97 points (target <= 0.7: NOT met)" in text
    assert "largest drop 3.00 points (target <= 1.5: NOT met)" in text
    assert target_check([]) == "(no fast-protocol QT-121 runs yet)\n"


def test_protocol_table_puts_both_protocols_beside_the_paper() -> None:
    models = [_model("fashion_fast", "QT-121", s, [85.0, 86.0], 86.0 + s) for s in range(2)]
    models += [_model("fashion_paper", "QT-121", 0, [50.0, 57.0], 57.0)]
    row = protocol_table(models, "fashion").splitlines()[2]
    assert row == ("| QT-121 | 1,822 | 80.74 | 57.00 ± 0.00 | 1 | 1.00 ± 0.00 | 86.50 ± 0.71 [86.00-87.00] | 2 | "
                   "86.00 ± 0.00 | 1.00 ± 0.00 |")
