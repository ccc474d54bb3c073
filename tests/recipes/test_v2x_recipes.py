"""The five V2X recipes through the real CLI (smoke presets): artifacts, exact parameter counts, gradients, errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from helpers import cli
from safetensors.torch import load_file

from qtrain import recipes
from qtrain.config import ConfigError

V2X = ["v2x_qcnn", "v2x_semantic", "v2x_fusion", "v2x_transfer", "v2x_federated"]


def _run(tmp: Path, recipe: str, *sets: str) -> dict:
    args = ["run", recipe, "--preset", "smoke", "--seed", "0", "--out", str(tmp), "--quiet"]
    rc, text = cli(*args, *[a for s in sets for a in ("--set", s)])
    assert rc == 0, text
    (run_dir,) = tmp.iterdir()
    for name in ("config.yaml", "metrics.jsonl", "summary.json", "model.safetensors"):
        assert (run_dir / name).is_file(), name
    return json.loads((run_dir / "summary.json").read_text())


def test_every_v2x_recipe_is_registered_with_a_smoke_preset() -> None:
    for name in V2X:
        assert "smoke" in recipes.list_presets(name)
        assert recipes.get_recipe(name).name == name


def test_v2x_qcnn_cli_counts_and_export(tmp_path: Path, single_thread: None) -> None:
    s = _run(tmp_path, "v2x_qcnn")
    q, c = s["models"]["quantum"], s["models"]["classical"]
    # Linear(64, 4) 260 + circuit 16 + Linear(4, 10) 50 = 326; the twin's Linear(4, 4, bias=False) has 16 too
    assert (q["params"]["trainable"], q["params"]["quantum"], c["params"]["trainable"]) == (326, 16, 326)
    assert s["split"] == [1078, 359, 360] and q["epochs_run"] == 2 and q["steps"] == 2 * 17
    assert s["table"][0]["paper test %"] == 85.0
    weights = load_file(next(tmp_path.iterdir()) / "model.safetensors")
    assert weights["features.weight"].shape == (16,) and weights["head.weight"].shape == (10, 4)


def test_v2x_semantic_cli_reports_each_snr(tmp_path: Path, single_thread: None) -> None:
    s = _run(tmp_path, "v2x_semantic")
    rows = {r["model"]: r for r in s["table"]}
    assert set(rows) == {f"{m} @ {snr} dB" for m in ("QCNN encoder", "classical encoder") for snr in (0.0, 10.0)}
    assert s["models"]["quantum"]["params"]["trainable"] == s["models"]["classical"]["params"]["trainable"] == 5336
    for r in rows.values():
        assert r["QRE"] > 0 and 0 <= r["acc %"] <= 100


def test_v2x_fusion_cli_equal_attention_sizes(tmp_path: Path, single_thread: None) -> None:
    s = _run(tmp_path, "v2x_fusion")
    p = {tag: m["params"]["trainable"] for tag, m in s["models"].items()}
    assert p == {"quantum": 1454, "classical": 1454, "camera_only": 894}
    assert [r["attention params"] for r in s["table"]] == [16, 16, 0]


def test_v2x_transfer_cli_generated_actor_critic(tmp_path: Path, single_thread: None) -> None:
    s = _run(tmp_path, "v2x_transfer")
    q = s["models"]["quantum"]["params"]
    assert (q["trainable"], q["qnn"], q["mapping"], q["generated"], q["n_qubits"]) == (341, 96, 245, 2500, 12)
    assert s["models"]["classical"]["params"]["trainable"] == 2500
    assert s["models"]["quantum"]["env_steps"] == 2 * 2 * 2 * 4
    fixed = ["random policy", "always fine_tune", "always pull_rsu", "always share"]
    assert [r["model"] for r in s["table"][2:]] == fixed


def test_v2x_federated_cli_bytes_ratio(tmp_path: Path, single_thread: None) -> None:
    s = _run(tmp_path, "v2x_federated")
    q, c = s["models"]["quantum"], s["models"]["classical"]
    assert q["bytes_per_round"] == 2 * 2 * 477 * 4 and c["bytes_per_round"] == 2 * 2 * 8986 * 4
    assert s["table"][0]["x classical bytes"] == round(477 / 8986, 4)


def test_gradients_reach_the_circuits_of_the_semantic_encoder_and_the_qt_actor_critic() -> None:
    from qtrain.recipes.v2x import v2x_semantic, v2x_transfer

    cfg = recipes.load_config("v2x_semantic", "smoke")
    model = v2x_semantic.build_model(cfg, "quantum")
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    x_hat = model(x, torch.full((4,), 5.0), torch.Generator().manual_seed(1))
    v2x_semantic.semantic_loss(x, x_hat, 0.1, 0.05)[0].backward()
    assert float(model.features.layer.weight.grad.abs().sum()) > 0
    tcfg = recipes.load_config("v2x_transfer", "smoke")
    ac = v2x_transfer.build_model(tcfg, "quantum")
    envs, obs = v2x_transfer.make_envs(tcfg)
    batch, _ = v2x_transfer.rollout(ac, envs, obs, 4, torch.Generator().manual_seed(0))
    v2x_transfer.a2c_loss(ac, batch, tcfg).backward()
    assert float(ac.generator.qnn_weights.grad.abs().sum()) > 0


def test_v2x_config_cross_checks() -> None:
    with pytest.raises(ConfigError) as exc:
        recipes.load_config("v2x_semantic", "smoke", ["snr_min_db=30"])
    assert exc.value.problems == ["snr_min_db=30.0 > snr_max_db=20.0; swap them"]
    with pytest.raises(ConfigError, match=r"stragglers=2 must be < n_clients=2"):
        recipes.load_config("v2x_federated", "smoke", ["stragglers=2"])
    with pytest.raises(ConfigError, match=r"encoder='patches' reads 2x2 patches, so n_qubits must be 4"):
        recipes.load_config("v2x_qcnn", "smoke", ["encoder=patches", "n_qubits=6"])
    with pytest.raises(ConfigError, match=r"unknown key 'optimiser'"):
        recipes.load_config("v2x_qcnn", "smoke", ["optimiser=adam"])


def test_v2x_transfer_vqc_heads_are_circuits_on_the_observation() -> None:
    from qtrain.recipes.v2x import v2x_transfer
    from qtrain.recipes.v2x.common import param_count

    cfg = recipes.load_config("v2x_transfer", "vqc_heads")
    model = v2x_transfer.build_model(cfg, "quantum")
    counts = param_count(model)
    assert (counts["trainable"], counts["quantum"]) == (46, 36)  # 2 x 18 circuit weights + 3 + 3 + 4 classical
    logits, value = model(torch.tensor([[0.5, 0.2, 0.8], [0.1, 0.9, 0.3]]))
    assert logits.shape == (2, 3) and value.shape == (2,)
    (logits.sum() + value.sum()).backward()
    assert float(model.actor_q.weight.grad.abs().sum()) > 0 and float(model.critic_q.weight.grad.abs().sum()) > 0
