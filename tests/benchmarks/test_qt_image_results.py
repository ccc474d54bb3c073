"""benchmarks/papers/qt_image_results.py: the issue-17 target check and the tables, on hand-made models."""
from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.papers.qt_image_results import (
    PLANS, ROWS, Model, epoch_seconds, epochs_logged, fill_notes, labelled_table, max_drop_after, not_measured,
    not_measured_summary, not_measured_table, pm, protocol_table, readme_links, run_list, seed_text, stats,
    target_check,
)


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
    assert pm([86.0, 87.0]) == "86.50 ± 0.71 [86.00-87.00]" and pm([86.0]) == "86.00" and pm([]) == "-"


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
    row = protocol_table(models, "fashion").splitlines()[2 + ROWS.index("QT-121")]
    assert row == ("| QT-121 | 1,822 | 80.74 | 57.00 | 1 | 1.00 | 86.50 ± 0.71 [86.00-87.00] | 2 | "
                   "86.00 ± 0.00 | 1.00 ± 0.00 |")


def test_protocol_table_lists_every_row_and_says_what_is_not_measured() -> None:
    lines = protocol_table([_model("fashion_fast", "QT-121", 0, [85.0, 86.0], 86.0)], "fashion").splitlines()
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| " + n for n in ROWS]
    assert lines[2 + ROWS.index("QT-46")] == "| QT-46 | 847 | 76.05 | not measured | 0 | - | not measured | 0 | - | - |"
    assert lines[2 + ROWS.index("QCML")] == "| QCML | 5,002 | - | not measured | 0 | - | not measured | 0 | - | - |"


def test_labelled_table_lists_variants_not_measured() -> None:
    m = _model("fashion_variants", "QT-121", 0, [50.0, 60.0], 60.0)
    m.label = "bits_pm1"
    text = labelled_table([m], "fashion_variants", "test_acc", {"bits_pm1": "-1/+1 bits", "scaled": "p x 2^13"})
    assert text.splitlines()[2:] == ["| bits_pm1 | -1/+1 bits | QT-121 | 1 | 60.00 | 50.0 60.0 |",
                                     "| scaled | p x 2^13 | - | 0 | not measured | |"]


def _run_folder(root: Path, plan: str, preset: str, seed: int, epochs: int, finished: bool) -> Path:
    path = root / plan / f"qt_image__{preset}__s{seed}__20260101-000000"
    path.mkdir(parents=True)
    lines = [f'{{"model": "qt", "epoch": {k}}}\n' for k in range(1, epochs + 1)]
    path.joinpath("metrics.jsonl").write_text("".join(lines))
    if finished:
        path.joinpath("summary.json").write_text("{}")
    return path


def test_not_measured_lists_unfinished_planned_runs_with_their_cost(tmp_path: Path) -> None:
    done = _run_folder(tmp_path, "fashion_paper", "fashion_qt121", 0, 50, finished=True)
    _run_folder(tmp_path, "fashion_paper", "fashion_qt46", 0, 5, finished=False)
    measured = _model("fashion_paper", "QT-121", 0, [50.0] * 50, 57.0)
    measured.path = done
    for r in measured.curve:
        r["epoch_time_s"] = 12.0
    items = {(it["plan"], it["row"]): it for it in not_measured([measured], tmp_path)}
    assert set(PLANS["fashion_paper"][0]) == {0, 1, 2} and len(items) == sum(
        len(rows) for _, rows, _ in PLANS.values())  # every planned row of every plan has a missing seed
    qt121, qt46 = items[("fashion_paper", "fashion_qt121")], items[("fashion_paper", "fashion_qt46")]
    assert (qt121["seeds"], qt121["epochs"], qt121["partial"], qt121["s_per_epoch"]) == ([1, 2], 50, {}, 12.0)
    assert (qt46["seeds"], qt46["partial"], qt46["s_per_epoch"], qt46["s_per_epoch_plan"]) == ([0, 1, 2], {0: 5},
                                                                                               None, 12.0)
    table = not_measured_table([qt121, qt46]).splitlines()
    assert table[2] == "| fashion_paper | fashion_qt121 | 1, 2 | 50 | - | 12.0 | 20 |"  # 100 epochs x 12 s
    assert table[3] == "| fashion_paper | fashion_qt46 | 0, 1, 2 | 50 | seed 0 after epoch 5 | ~12.0 | ~29 |"  # 145 ep
    assert not_measured_summary([qt121, qt46]) == ("- `fashion_paper`: fashion_qt121 (seeds 1-2), fashion_qt46 "
                                                   "(seeds 0-2); about 49 min of training at the rates measured here\n")
    assert epochs_logged(tmp_path / "nowhere") == 0


def test_seed_text_and_run_costs() -> None:
    assert (seed_text([3]), seed_text([0, 1, 2, 3, 4]), seed_text([0, 2])) == ("seed 3", "seeds 0-4", "seeds 0, 2")
    a, b = (_model("fashion_fast", "QT-121", s, [80.0, 81.0, 82.0], 82.0) for s in (0, 1))
    for m, t in ((a, [10.0, 30.0, 20.0]), (b, [40.0, 50.0, 60.0])):
        for r, sec in zip(m.curve, t):
            r["epoch_time_s"] = sec
        m.result["train_time_s"] = sum(t)
    assert epoch_seconds([a, b]) == 40.0  # median of the six epochs (the upper middle one)
    assert run_list([a, b]).splitlines()[2] == "| fashion_fast | - | QT-121 | 2 (0, 1) | 3 | 40.0 | 2.5 |"


def test_notes_quote_the_measured_numbers_and_say_what_is_not_measured() -> None:
    models = [_model("fashion_fast", "QT-121", s, [80.0, 82.0, 84.0, 85.0, 86.0], 86.0 + 0.1 * s) for s in range(5)]
    models.append(_model("fashion_paper", "Classical CNN", 0, [85.0] * 49 + [88.3], 88.3))
    models.append(_model("fashion_paper", "QT-121", 0, [50.0] * 39 + [55.0] * 10 + [57.0], 57.0))
    subsets = [{"seed": 0, "n": 10000, "full": 57.0, "mean": 57.1, "std": 1.6, "lo": 53.3, "hi": 62.4, "draws": 200,
                "size": 1000}]
    template = "{classical_paper} | {fast121} | {qt121_ep40} -> {qt121_ep50} | {qt_gaps} | {subsets} | {qt_paper_rows}"
    assert fill_notes(template, models, subsets) == (
        "88.30 % (seed 0) | 86.20 ± 0.16 [86.00-86.40] | 55.00 -> 57.00 | QT-121 1.00 | 57.10 ± 1.60 % over 200 "
        "random 1,000-image subsets (min 53.30, max 62.40; all 10,000 images: 57.00 %, seed 0) | "
        "QT-121 57.00 % (seed 0) vs 80.74 %")
    assert fill_notes("{fast121_drop} {classical_gap} {blocks_text}", models[:5], None) == (
        "0.00 (not measured) (not measured)")


def test_readme_links_point_from_the_repository_root_to_the_results_folder() -> None:
    notes = ("[shots](qt_image_shots.md), ![f](qt_image_fig6_gap.png), [x](https://a.org/b.md), "
             "[y](benchmarks/results/c.md)")
    assert readme_links(notes) == ("[shots](benchmarks/results/qt_image_shots.md), "
                                   "![f](benchmarks/results/qt_image_fig6_gap.png), [x](https://a.org/b.md), "
                                   "[y](benchmarks/results/c.md)")


def test_variant_values_rank_the_measured_variants_and_name_the_missing_ones() -> None:
    import dataclasses

    from benchmarks.papers.qt_image_results import VARIANT_TEXT, note_values

    curve = [50.0 + e for e in range(12)]  # epoch 10: 59 %
    runs = [dataclasses.replace(_model("fashion_variants", "QT-121", 0, curve, test), label=lab)
            for lab, test in (("bits_pm1", 58.0), ("scaled", 81.5))]
    runs.append(dataclasses.replace(_model("fashion_variants", "QT-16 u3_cu3", 0, curve[:5], 62.0), label="code_all"))
    runs.append(dataclasses.replace(_model("fashion_variants", "QT-121", 1, curve, 99.0), label="lr1e-3"))  # seed 1
    values = note_values(runs, None)
    assert values["variants"] == ("scaled 81.50 % (59.0 after epoch 10); code_all 62.00 % (54.0 after epoch 5); "
                                  "bits_pm1 58.00 % (59.0 after epoch 10)")
    assert (values["variant_scaled"], values["variant_code_all"]) == ("81.50", "62.00")
    assert "variant_lr1e-3" not in values  # seed 1 only
    assert values["variant_scaled_seeds"] == "81.50 % (seed 0)" and "variant_none" not in values  # no paper run
    assert values["variants_missing"] == ", ".join(lab for lab in VARIANT_TEXT
                                                   if lab not in ("", "bits_pm1", "scaled", "code_all"))


def test_a_row_preset_counts_only_for_its_own_row() -> None:
    from benchmarks.papers.qt_image_results import counts_for_row

    cases = [("mnist_qt16", "classical"), ("mnist_qt16", "qt"), ("fashion_classical", "classical"),
             ("fashion_qcml", "qcml"), ("fashion_qcml", "classical"), ("mnist5k_demo", "classical"),
             ("mnist5k_demo", "qt"), ("", "qt")]
    assert [counts_for_row(p, t) for p, t in cases] == [False, True, True, True, False, True, True, True]


def test_qcml_note_values_scale_the_per_step_cost_to_the_fashion_paper_protocol() -> None:
    import dataclasses

    from benchmarks.papers.qt_image_results import note_values

    runs = []
    for seed, test in ((0, 80.0), (1, 82.0)):
        m = dataclasses.replace(_model("qcml_fast", "QCML", seed, [70.0, test], test), key="mnist")
        m.curve[0].update(step=29, epoch_time_s=7.25)  # 0.25 s per step
        m.curve[1].update(step=58, epoch_time_s=7.25)
        runs.append(m)
    values = note_values(runs, None)
    assert values["qcml_mnist_fast"] == "81.00 ± 1.41 % (2 seeds)" and "qcml_mnist_paper" not in values
    assert (values["qcml_step_s"], values["qcml_fashion_paper_min"]) == ("0.25", "98")  # 0.25 * 469 * 50 / 60


def test_fast_gaps_need_every_fashion_row_of_the_fast_protocol() -> None:
    from benchmarks.papers.qt_image_results import note_values

    runs = [_model("fashion_fast", n, s, [80.0, 81.0], 81.0) for n in ROWS[:-1] for s in (0, 1)]  # gap 0.01 each
    assert note_values(runs, None)["fast_gaps"] == ", ".join(
        f"{n.replace('Classical CNN', 'classical')} 1.00" for n in ROWS[:-1])
    assert "fast_gaps" not in note_values(runs[2:], None)  # the classical row missing
