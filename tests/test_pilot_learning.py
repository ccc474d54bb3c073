"""Learned pilot assignment (qtrain.wireless.learning) and the pilot_assignment recipe through the CLI."""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
import torch

from qtrain.cli import main
from qtrain.recipes import registry
from qtrain.recipes.pilot_assignment import PilotConfig
from qtrain.wireless import SystemConfig, make_scenarios, master_ap_pilots, soft_sum_rate
from qtrain.wireless.learning import (ASSIGNERS, build_assigner, evaluate_assigner, feature_stats, fit, param_counts,
                                      supervised_loss, unsupervised_loss)

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
        "heavy_cnn": {"quantum": 0, "classical": 320 + 18496 + 129 * 128 + 129 * 18, "total": 37650}}
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
    assert s["models"]["hqcnn"]["ratio"] == pytest.approx(s["models"]["hqcnn"]["sum_rate"] / s["baselines"]["master_ap"])


def test_qubits_study_reports_noisy_and_zne(tmp_path: Path) -> None:
    assert _cli("run", "pilot_assignment", "--preset", "fig3c_smoke", "--out", str(tmp_path), "--quiet") == 0
    (run_dir,) = tmp_path.iterdir()
    entry = json.loads((run_dir / "summary.json").read_text())["models"]["hqcnn_q4"]
    assert entry["params"] == {"quantum": 17, "classical": 60 * 4 + 4 + 2 * 18 + 18, "total": 315}
    assert set(entry) >= {"noiseless", "noisy", "zne"} and entry["sum_rate"] == entry["noiseless"]


def test_every_preset_parses() -> None:
    presets = registry.list_presets("pilot_assignment")
    assert {"smoke", "small_K6", "medium_M30", "fig3c_small"} <= set(presets)
    for name in presets:
        cfg = registry.load_config("pilot_assignment", name)
        assert isinstance(cfg, PilotConfig) and cfg.problems() == [], name
    with pytest.raises(ValueError, match=r"system='tiny'"):
        registry.load_config("pilot_assignment", "smoke", ["system=tiny"])
