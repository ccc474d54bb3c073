"""Learned pilot assignment (qtrain.recipes.hqcnn_pilot.assigners) and the pilot_assignment recipe through the CLI."""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
import torch

from qtrain.cli import main
from qtrain.recipes import registry
from qtrain.recipes.hqcnn_pilot.pilot_assignment import PilotConfig
from qtrain.config import yaml_header
from qtrain.recipes.hqcnn_pilot.assigners import (ASSIGNERS, build_assigner, evaluate_assigner, feature_stats, fit,
                                                  hqcnn_total, matched_width, param_counts, supervised_loss,
                                                  unsupervised_loss)
from qtrain.recipes.hqcnn_pilot.paper import PAPER_TABLE_II
from qtrain.wireless import (TABLE_II, SystemConfig, make_scenarios, master_ap_pilots, soft_sum_rate, sum_rate,
                             table2_config)

torch.set_num_threads(1)
CFG = SystemConfig(M=10, L=2, K=6, tau_p=3)


@pytest.fixture(scope="module")
def beta() -> torch.Tensor:
    return make_scenarios(CFG, 48, seed=0).beta


def test_param_counts_of_every_learner(beta: torch.Tensor) -> None:
    counts = {n: param_counts(build_assigner(n, CFG, feature_stats(beta))) for n in ASSIGNERS}
    assert counts == {
        "hqcnn": {"quantum": 17, "classical": 60 * 8 + 8 + 4 * 18 + 18, "total": 595},
        "hqcnn_hur": {"quantum": 34, "classical": 488 + 2 * 18 + 18, "total": 576},
        "mlp": {"quantum": 0, "classical": 61 * 8 + 9 * 8 + 9 * 18, "total": 722},
        "light_cnn": {"quantum": 0, "classical": 80 + 1168 + 32 * 18 + 18, "total": 1842},
        "heavy_cnn": {"quantum": 0, "classical": 320 + 18496 + 129 * 128 + 129 * 18, "total": 37650},
        "mlp_matched": {"quantum": 0, "classical": 61 * 7 + 8 * 18, "total": 571}}
    with pytest.raises(ValueError, match=r"model='svm' is unknown"):
        build_assigner("svm", CFG)


def test_hqcnn_rows_are_distributions_over_pilots(beta: torch.Tensor) -> None:
    torch.manual_seed(0)
    model = build_assigner("hqcnn", CFG, feature_stats(beta))
    probs = model.probs(beta[:5].reshape(5, 1, 10, 6))
    assert probs.shape == (5, 1, 6, 3)
    torch.testing.assert_close(probs.sum(-1), torch.ones(5, 1, 6))
    assert float(probs.detach().min()) > 0
    with pytest.raises(ValueError, match=r"expected \(\.\.\., M, K\) = \(\.\.\., 10, 6\)"):
        model(beta[:, :, :5])


def test_supervised_training_reduces_cross_entropy(beta: torch.Tensor) -> None:
    torch.manual_seed(0)
    model = build_assigner("hqcnn", CFG, feature_stats(beta))
    labels = master_ap_pilots(beta, CFG)
    before = float(supervised_loss(model(beta), labels).detach())
    hist = fit(model, beta, CFG, "supervised", epochs=4, batch_size=16, lr=2e-2, seed=0)
    after = float(supervised_loss(model(beta), labels).detach())
    assert before - after > 0.25, (before, after, hist)


def test_unsupervised_training_increases_soft_sum_rate(beta: torch.Tensor) -> None:
    torch.manual_seed(0)
    model = build_assigner("mlp", CFG, feature_stats(beta))
    before = float(soft_sum_rate(beta, model.probs(beta).double(), CFG).mean().detach())
    hist = fit(model, beta, CFG, "unsupervised", epochs=4, batch_size=16, lr=1e-2, seed=0)
    after = float(soft_sum_rate(beta, model.probs(beta).double(), CFG).mean().detach())
    assert after - before > 1.0, (before, after, hist)
    assert evaluate_assigner(model, beta, CFG).shape == (48,)
    with pytest.raises(ValueError, match=r"relaxation='hard' is unknown"):
        unsupervised_loss(model(beta), beta, CFG, "hard")


def _cli(*argv: str) -> int:
    with contextlib.redirect_stdout(io.StringIO()):
        return main(list(argv))


def test_recipe_runs_through_cli_with_exact_counts(tmp_path: Path) -> None:
    assert _cli("run", "pilot_assignment", "--preset", "smoke", "--out", str(tmp_path), "--quiet",
                "--set", "methods=[hqcnn,mlp]") == 0
    (run_dir,) = tmp_path.iterdir()
    for name in ("summary.json", "metrics.jsonl", "config.yaml", "model.safetensors", "checkpoints/hqcnn/last.pt"):
        assert (run_dir / name).is_file(), name
    s = json.loads((run_dir / "summary.json").read_text())
    assert s["models"]["hqcnn"]["params"] == {"quantum": 17, "classical": 578, "total": 595}
    assert s["models"]["mlp"]["params"] == {"quantum": 0, "classical": 722, "total": 722}
    assert s["models"]["hqcnn"]["steps"] == 2 and s["reference"] == "master_ap"
    hqcnn = s["models"]["hqcnn"]
    assert hqcnn["ratio"] == pytest.approx(hqcnn["sum_rate"] / s["baselines"]["master_ap"])


def test_qubits_study_reports_noisy_and_zne(tmp_path: Path) -> None:
    assert _cli("run", "pilot_assignment", "--preset", "fig3c_smoke", "--out", str(tmp_path), "--quiet") == 0
    (run_dir,) = tmp_path.iterdir()
    entry = json.loads((run_dir / "summary.json").read_text())["models"]["hqcnn_q4"]
    assert entry["params"] == {"quantum": 17, "classical": 60 * 4 + 4 + 2 * 18 + 18, "total": 315}
    assert set(entry) >= {"noiseless", "noisy", "zne"} and entry["sum_rate"] == entry["noiseless"]
    assert 0 <= entry["noisy_agree"] <= 1 and entry["noisy_logit_err"] > 1e-4


def test_qubits_study_without_noise_agrees_with_noiseless(tmp_path: Path) -> None:
    assert _cli("run", "pilot_assignment", "--preset", "fig3c_smoke", "--out", str(tmp_path), "--quiet",
                "--set", "noise_p=0.0") == 0
    (run_dir,) = tmp_path.iterdir()
    entry = json.loads((run_dir / "summary.json").read_text())["models"]["hqcnn_q4"]
    assert entry["noisy_agree"] == entry["zne_agree"] == 1.0
    assert entry["noisy_logit_err"] < 1e-5 and entry["zne_logit_err"] < 1e-5
    assert entry["noisy"] == pytest.approx(entry["noiseless"]) and entry["zne"] == pytest.approx(entry["noiseless"])


def test_every_preset_parses() -> None:
    presets = registry.list_presets("pilot_assignment")
    assert {"smoke", "small_K6", "medium_M30", "fig3c_small"} <= set(presets)
    for name in presets:
        cfg = registry.load_config("pilot_assignment", name)
        assert isinstance(cfg, PilotConfig) and cfg.problems() == [], name
    with pytest.raises(ValueError, match=r"system='tiny'"):
        registry.load_config("pilot_assignment", "smoke", ["system=tiny"])


@pytest.mark.parametrize("row,qubits,hqcnn,width", [("small_K6", 8, 595, 7), ("small_K15", 4, 756, 3),
                                                    ("medium_M30", 8, 5825, 7), ("medium_M45", 8, 8225, 7)])
def test_matched_mlp_stays_within_the_hqcnn_budget(row: str, qubits: int, hqcnn: int, width: int) -> None:
    cfg = table2_config(row)
    torch.manual_seed(0)
    assert param_counts(build_assigner("hqcnn", cfg, n_qubits=qubits))["total"] == hqcnn_total(cfg, qubits) == hqcnn
    assert matched_width(cfg, hqcnn) == width
    total = param_counts(build_assigner("mlp_matched", cfg, budget=hqcnn))["total"]
    step = cfg.M * cfg.K + 1 + cfg.K * cfg.tau_p  # one more hidden unit
    assert total <= hqcnn < total + step


def test_matched_mlp_rejects_a_budget_below_one_unit() -> None:
    with pytest.raises(ValueError, match=r"budget=90 is below the smallest one-hidden-unit MLP \(97 parameters"):
        build_assigner("mlp_matched", CFG, budget=90)


def test_every_table2_row_has_a_preset_with_the_papers_hqcnn_number() -> None:
    presets = {name: registry.load_config("pilot_assignment", name)
               for name in registry.list_presets("pilot_assignment")}
    for row in TABLE_II:
        cfg = presets[row]
        assert (cfg.system, cfg.study, cfg.mode, cfg.rate_model) == (row, "table2", "unsupervised", "closed_form")
        header = yaml_header(registry.list_presets("pilot_assignment")[row])[0]
        assert f"paper HQCNN {PAPER_TABLE_II[row]['hqcnn']:.2f}" in header, row
    assert not presets["small_K15"].exhaustive and presets["small_K12"].exhaustive


def test_recipe_under_compat_rate_scores_baselines_with_the_compat_formula(tmp_path: Path) -> None:
    assert _cli("run", "pilot_assignment", "--preset", "smoke", "--out", str(tmp_path), "--quiet",
                "--set", "methods=[mlp_matched]", "--set", "rate_model=paper_code_compat",
                "--set", "heuristics=[master_ap,local_search]") == 0
    (run_dir,) = tmp_path.iterdir()
    s = json.loads((run_dir / "summary.json").read_text())
    cfg = table2_config("small_K6", rate_model="paper_code_compat")
    beta = make_scenarios(cfg, 16, seed=1000).beta
    assert s["baselines"]["master_ap"] == pytest.approx(float(sum_rate(beta, master_ap_pilots(beta, cfg), cfg).mean()))
    assert s["reference"] == "master_ap" and s["baselines"]["local_search"] > s["baselines"]["master_ap"]
    assert s["models"]["mlp_matched"]["params"] == {"quantum": 0, "classical": 571, "total": 571}
