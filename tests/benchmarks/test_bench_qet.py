"""benchmarks/papers/bench_qet.py: merging the saved parts of a run split over processes (rows and seeds)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.papers.bench_qet import merge_saved, target_lines

META = {"n_per_key": 200, "epochs": 80, "patience": 30, "mlp_blocks": 4, "lr_plateau": 5, "wall_s": 60.0,
        "load": [1.0, 2.0]}


def _entry(seed: int, acc: float) -> dict:
    return {"seed": seed, "overall_acc": acc, "T_e_s": 10.0, "delta_c_pct": 70.86}


def _save(path: Path, rows: dict, seeds: list[int], **meta: object) -> str:
    path.write_text(json.dumps({"meta": {**META, "seeds": seeds, **meta}, "rows": rows}))
    return path.name


def test_parts_join_seeds_per_row_in_table_order(tmp_path: Path) -> None:
    a = _save(tmp_path / "a.json", {"QET-6": [_entry(0, 0.42), _entry(1, 0.43)]}, [0, 1])
    b = _save(tmp_path / "b.json", {"MC-Net": [_entry(0, 0.44), _entry(1, 0.43), _entry(2, 0.42)]}, [0, 1, 2])
    c = _save(tmp_path / "c.json", {"QET-6": [{k: v for k, v in _entry(2, 0.425).items() if k != "seed"}]}, [2])
    blob = merge_saved([tmp_path / a, tmp_path / b, tmp_path / c])
    assert list(blob["rows"]) == ["MC-Net", "QET-6"] and blob["meta"]["seeds"] == [0, 1, 2]
    assert [(r["seed"], r["overall_acc"]) for r in blob["rows"]["QET-6"]] == [(0, 0.42), (1, 0.43), (2, 0.425)]
    assert [p["seeds"] for p in blob["meta"]["parts"]] == [[0, 1], [0, 1, 2], [2]]
    line = target_lines(blob["rows"], {})[0]
    assert "accuracy loss 0.50 points (same seed: seed 0 2.00, seed 1 0.00, seed 2 -0.50) (target <= 1: met)" in line


def test_parts_of_other_protocols_or_repeated_seeds_are_refused(tmp_path: Path) -> None:
    a = _save(tmp_path / "a.json", {"QET-6": [_entry(0, 0.42)]}, [0])
    b = _save(tmp_path / "b.json", {"QET-6": [_entry(0, 0.40)]}, [0])
    with pytest.raises(ValueError, match=r"row QET-6 seed 0 is in more than one saved file .*b.json"):
        merge_saved([tmp_path / a, tmp_path / b])
    c = _save(tmp_path / "c.json", {"MC-Net": [_entry(0, 0.44)]}, [0], lr_plateau=0)
    with pytest.raises(ValueError, match=r"saved results differ in protocol"):
        merge_saved([tmp_path / a, tmp_path / c])
