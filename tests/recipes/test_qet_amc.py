"""QET: Multimodel mapping (Table 1), Table 2 parameter counts, gradients, and the qet_amc recipe through the CLI."""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from qtrain.cli import main
from qtrain.config import ConfigError, load_config_file, yaml_header
from qtrain.data.radioml import write_rml_pickle
from qtrain.data.rml_generator import generate_rml2016a_like
from qtrain.models.mcnet import MCNet
from qtrain.qt import QuantumParameterGenerator, QuantumTrain, count_parameters, min_qubits
from qtrain.qt.multimodel import MultimodelMapping, multimodel_layer_counts, multimodel_size
from qtrain.recipes import get_recipe, list_presets, load_config
from qtrain.recipes.qet.qet_amc import QETAMCConfig, build_model, load_data, snr_report
from qtrain.train import RunContext, RunDir, load_checkpoint

torch.set_num_threads(1)
C = 121_611
SNRS = [str(s) for s in range(-20, 20, 2)]


# ----------------------------------------------------------------------------- Table 1
@pytest.mark.parametrize("q,n_b", [(5, 3827), (6, 1901), (7, 952), (9, 239), (2, 3)])
def test_multimodel_layer_counts_equal_table_1(q: int, n_b: int) -> None:
    m = MultimodelMapping().bind(q + 1, n_b)
    table_1 = [32, 304, 17, 32 * q + 128, 528, 272, 17 * n_b]
    assert m.layer_counts() == table_1 == multimodel_layer_counts(q, n_b)
    assert sum(p.numel() for p in m.parameters()) == sum(table_1) == multimodel_size(q, n_b) == 1281 + 32 * q + 17 * n_b


@pytest.mark.parametrize("n_b,q", [(3827, 5), (3801, 5), (3800, 6), (1901, 6), (1900, 7), (952, 7), (502, 8),
                                   (239, 9), (1, 17)])
def test_qubit_formula(n_b: int, q: int) -> None:
    assert min_qubits(C, n_b) == q  # Q = ceil(log2(ceil(C / n_B)))
    g = QuantumParameterGenerator(C, ansatz="u3_cu3", blocks=1, n_per_state=n_b, transform="raw", calibrate=False,
                                  mapping=MultimodelMapping() if n_b > 1 else None, ansatz_kwargs={"ring": False})
    assert (g.n_qubits, g.n_groups) == (q, -(-C // n_b))


# ----------------------------------------------------------------------------- Table 2
@pytest.mark.parametrize("preset,q,n_b,blocks,trainable", [
    ("qet5", 5, 3827, 49, 67_823), ("qet6", 6, 1901, 50, 35_440), ("qet7", 7, 952, 64, 20_185),
    ("qet8", 8, 502, 54, 12_501), ("qet9", 9, 239, 96, 10_528)])
def test_table_2_trainable_counts(preset: str, q: int, n_b: int, blocks: int, trainable: int) -> None:
    cfg = load_config("qet_amc", preset)
    assert (cfg.n_per_state, cfg.blocks, cfg.ring, cfg.mapping) == (n_b, blocks, False, "multimodel")
    s = count_parameters(build_model(cfg, "qet"))
    assert (s.n_qubits, s.qnn, s.mapping, s.extras, s.trainable, s.generated) == (
        q, blocks * (6 * q - 3), 1281 + 32 * q + 17 * n_b, 0, trainable, C)


def test_qet9_paper_count_needs_a_ring() -> None:
    chain = {multimodel_size(9, n_b) + 51 * b for n_b in range(238, 476) for b in range(1, 200)}
    assert 10_526 not in chain and 10_528 in chain  # 10,526 - 1,569 = 8,957 is not a multiple of 17
    cfg = load_config("qet_amc", "qet9", ["ring=true", "n_per_state=241", "blocks=90"])
    assert count_parameters(build_model(cfg, "qet")).trainable == 10_526


def test_mlp_mapping_needs_17_qubits() -> None:
    s = count_parameters(build_model(load_config("qet_amc", "qet_mlp17"), "qet"))
    assert (s.n_qubits, s.n_groups, s.qnn, s.mapping, s.trainable) == (17, C, 50 * 99, 265, 5_215)


# ----------------------------------------------------------------------------- centring, BatchNorm, gradients
def test_generated_vector_is_zero_mean_and_groups_on_request() -> None:
    torch.manual_seed(0)
    g = QuantumParameterGenerator(1000, ansatz="u3_cu3", blocks=3, n_per_state=70, transform="raw", calibrate=False,
                                  mapping=MultimodelMapping(), ansatz_kwargs={"ring": False})
    y = g.raw().detach()
    assert y.shape == (1000,) and abs(float(y.mean())) < 1e-6 and float(y.std()) > 0.1  # paper: vector mean removed
    x = torch.randn(16, 5)
    rows = MultimodelMapping(center="group").bind(5, 70)(x).detach()
    torch.testing.assert_close(rows.mean(dim=1), torch.zeros(16), atol=1e-6, rtol=0)
    assert float(MultimodelMapping().bind(5, 70)(x).detach().mean(dim=1).abs().max()) > 1e-3


def test_eval_generation_equals_train_generation() -> None:
    torch.manual_seed(0)
    qt = build_model(load_config("qet_amc", "qet7", ["calibrate=true"]), "qet")
    train_w = qt.generator().detach()
    qt.eval()
    with torch.no_grad():
        torch.testing.assert_close(qt.generator(), train_w, atol=0, rtol=0)  # BatchNorm uses the rows' own statistics


def test_gradients_reach_every_mapping_parameter_and_qnn_weight() -> None:
    torch.manual_seed(0)
    q, blocks = 6, 50
    qt = QuantumTrain(MCNet().double(), ansatz="u3_cu3", blocks=blocks, mapping=MultimodelMapping(), n_per_state=1901,
                      transform="raw", ansatz_kwargs={"ring": False})
    x, y = torch.randn(4, 2, 128, dtype=torch.float64), torch.tensor([0, 3, 5, 10])
    F.cross_entropy(qt(x), y).backward()
    grads = {n: p.grad.abs() for n, p in qt.named_parameters()}
    assert len(grads) == 19 and all(g is not None for g in grads.values())
    # biases in front of a BatchNorm are invisible to its output: exactly zero gradient (Table 1 counts them)
    dead = {f"generator.mapping.{n}.bias" for n in ("inner.0", "inner.1.linear", "inner.2", "outer.0.linear")}
    assert {n for n, g in grads.items() if float(g.max()) < 1e-10} == dead
    assert all(float(g.min()) > 1e-8 for n, g in grads.items() if n not in dead and "mapping" in n)
    # QNN: 2Q phases cannot change measured probabilities (first-block lambdas on |0>, last-block diagonal phases)
    last = (blocks - 1) * (6 * q - 3)
    structural = {3 * i + 2 for i in range(q)} | {last + 1} | {last + 3 * q + 3 * i + 1 for i in range(q - 1)}
    w = grads["generator.qnn_weights"]
    assert set((w < 1e-10).nonzero().flatten().tolist()) == structural
    assert float(w[[i for i in range(len(w)) if i not in structural]].min()) > 1e-7


# ----------------------------------------------------------------------------- errors
def test_bad_configs_raise_clear_errors() -> None:
    with pytest.raises(ConfigError) as err:
        load_config("qet_amc", None, ["n_per_state=0", "mapping=linear"])
    assert err.value.problems == ["n_per_state=0 is out of range; must be >= 1",
                                  "mapping='linear': allowed values are ['multimodel', 'mlp'] (type 'multimodel' | "
                                  "'mlp'); help: QET Multimodel mapping (Table 1) or the Quantum-Train MLP"]
    with pytest.raises(ConfigError, match=r"mapping='mlp' emits one weight per basis state .* n_per_state=1901; set "
                                          r"n_per_state=1 or mapping=multimodel"):
        load_config("qet_amc", None, ["mapping=mlp"])
    with pytest.raises(ConfigError, match=r"n_qubits=5 gives 32 basis states x n_per_state=1901 < 121,611 MC-Net "
                                          r"weights; use n_per_state >= 3801 or n_qubits=None"):
        load_config("qet_amc", None, ["n_qubits=5"])


def test_multimodel_mapping_errors() -> None:
    with pytest.raises(ValueError, match=r"center='rows' is unknown; use one of \['none', 'group'\]"):
        MultimodelMapping(center="rows")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"outer=\(32,\) must be two widths"):
        MultimodelMapping(outer=(32,))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"inner=0 must be a positive integer"):
        MultimodelMapping(inner=0)
    with pytest.raises(RuntimeError, match=r"MultimodelMapping is not bound"):
        MultimodelMapping()(torch.zeros(4, 3))
    with pytest.raises(ValueError, match=r"chunk_size=16 < n_groups=64, but mapping MultimodelMapping couples rows"):
        QuantumParameterGenerator(C, ansatz="u3_cu3", blocks=1, n_per_state=1901, mapping=MultimodelMapping(),
                                  calibrate=False, chunk_size=16)
    with pytest.raises(ValueError, match=r"MultimodelMapping out_features=5 but the generator needs out_features=1901"):
        QuantumParameterGenerator(C, ansatz="u3_cu3", blocks=1, n_per_state=1901, calibrate=False,
                                  mapping=MultimodelMapping(out_features=5))


# ----------------------------------------------------------------------------- data and reports
def test_real_file_is_used_and_cut_to_n_per_key(tmp_path: Path) -> None:
    write_rml_pickle(generate_rml2016a_like(6, seed=3), tmp_path / "RML2016.10a_dict.pkl")
    cfg = load_config("qet_amc", None, [f"data_dir={tmp_path}", "n_per_key=5"])
    data = load_data(cfg, RunContext(RunDir(tmp_path)))
    assert (data.info["source"], data.info["n_per_key"], len(data.train), len(data.val), len(data.test)) == (
        "file", 5, 660, 220, 220)
    with pytest.raises(FileNotFoundError, match=r"RadioML 2016.10a not found"):
        load_data(load_config("qet_amc", None, ["data=file", f"data_dir={tmp_path / 'none'}"]),
                  RunContext(RunDir(tmp_path)))


def test_snr_report_numbers() -> None:
    r = snr_report(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 0, 2]), torch.tensor([-2, 0, 10, 10]), 3, 10)
    assert (r["overall_acc"], r["peak_acc"], r["peak_snr"]) == (0.75, 1.0, -2)
    assert r["acc_by_snr"] == {"-2": 1.0, "0": 1.0, "10": 0.5}
    assert r["confusion_high_snr"] == [[0, 1, 0], [0, 0, 0], [0, 0, 1]]


# ----------------------------------------------------------------------------- presets and the CLI
def test_every_qet_preset_parses() -> None:
    presets = list_presets("qet_amc")
    assert set(presets) == {"mcnet_classical", "qet5", "qet6", "qet7", "qet8", "qet9", "qet_mlp17", "cpu_small",
                            "smoke"}
    for name, path in presets.items():
        cfg = load_config_file(get_recipe("qet_amc").config_cls, path)
        assert isinstance(cfg, QETAMCConfig) and "%" in yaml_header(path)[0]
        assert f"qtrain run qet_amc --preset {name}" in yaml_header(path)[1]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("qet")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["run", "qet_amc", "--preset", "smoke", "--seed", "0", "--out", str(out), "--quiet"]) == 0
    (run_dir,) = [p for p in out.iterdir() if not p.name.startswith(".")]
    return run_dir


def test_cli_smoke_summary_holds_exact_counts_and_per_snr_accuracy(smoke_run: Path) -> None:
    s = json.loads((smoke_run / "summary.json").read_text())
    qet, mcnet = s["models"]["qet"], s["models"]["classical"]
    assert (qet["params"]["trainable"], qet["params"]["qnn"], qet["params"]["mapping"], qet["params"]["generated"],
            qet["params"]["n_qubits"], qet["params"]["n_groups"]) == (35_440, 1_650, 33_790, C, 6, 64)
    assert (mcnet["params"]["trainable"], qet["name"], mcnet["name"], qet["steps"]) == (C, "QET-6", "MC-Net", 2)
    assert qet["delta_c_pct"] == pytest.approx(100 * (1 - 35_440 / C)) == pytest.approx(70.8579, abs=1e-4)
    for m in (qet, mcnet):
        assert list(m["acc_by_snr"]) == SNRS and m["overall_acc"] == pytest.approx(sum(m["acc_by_snr"].values()) / 20)
        assert m["peak_acc"] == max(m["acc_by_snr"].values()) and m["T_e_s"] > 0
        assert sum(map(sum, m["confusion_high_snr"])) == 11 * 5  # one test window per key at 10, 12, ..., 18 dB
    assert qet["acc_loss_pct"] == pytest.approx(100 * (mcnet["overall_acc"] - qet["overall_acc"]))
    assert qet["T_e_ratio"] == pytest.approx(qet["T_e_s"] / mcnet["T_e_s"])
    data = s["data"]
    assert (data["source"], data["n_train"], data["n_val"], data["n_test"]) == ("generated", 660, 220, 220)


def test_cli_smoke_metrics_and_golden_losses(smoke_run: Path) -> None:
    records = [json.loads(x) for x in (smoke_run / "metrics.jsonl").read_text().splitlines()]
    assert [(r["model"], r["epoch"], r.get("kind")) for r in records] == [
        ("classical", 1, None), ("qet", 1, None), ("classical", 1, "final"), ("qet", 1, "final")]
    assert records[3]["trainable"] == 35_440 and len(records[3]["acc_by_snr"]) == 20
    golden = [r["train_loss"] for r in records[:2]]  # mean loss of the first 2 steps (seeded, 1 thread)
    torch.testing.assert_close(torch.tensor(golden), torch.tensor([GOLDEN_CLASSICAL, GOLDEN_QET]), rtol=1e-4, atol=0)


def test_cli_smoke_export_equals_the_qet_model(smoke_run: Path) -> None:
    cfg = load_config_file(QETAMCConfig, smoke_run / "config.yaml")
    qt = build_model(cfg, "qet")
    qt.load_state_dict(load_checkpoint(smoke_run / "checkpoints" / "qet" / "best.pt")["model"])
    plain = MCNet()
    plain.load_state_dict(load_file(smoke_run / "model.safetensors"))
    qt.eval(), plain.eval()
    x = torch.randn(3, 2, 128)
    with torch.no_grad():
        torch.testing.assert_close(plain(x), qt(x))


PLATEAU = ["models=classical", "max_steps=null", "epochs=6", "lr=1e-7", "lr_plateau=1", "lr_factor=0.25",
           "min_lr=1e-8", "ckpt_every=4"]


def _plateau_lrs(val_losses: list[float], lr: float, patience: int, factor: float, min_lr: float) -> list[float]:
    """The LR of each epoch under Keras/PyTorch ReduceLROnPlateau (rel. threshold 1e-4), written out."""
    out, best, bad = [], float("inf"), 0
    for v in val_losses:
        out.append(lr)
        best, bad = (v, 0) if v < best * (1 - 1e-4) else (best, bad + 1)
        if bad > patience:
            lr, bad = max(lr * factor, min_lr), 0
    return out


def test_lr_plateau_follows_the_validation_loss_and_resumes(tmp_path: Path) -> None:
    from qtrain import recipes
    full = recipes.run("qet_amc", "smoke", PLATEAU, out=tmp_path / "full", quiet=True).run_dir
    rec = [r for r in RunDir(full).read_metrics() if r.get("kind") is None]
    lrs, vals = [r["lr"] for r in rec], [r["val_loss"] for r in rec]
    assert len(rec) == 6 and lrs == pytest.approx(_plateau_lrs(vals, 1e-7, 1, 0.25, 1e-8), rel=1e-12)
    assert lrs == pytest.approx([1e-7] * 3 + [2.5e-8] * 2 + [1e-8], rel=1e-12)  # ~flat val loss: 2 bad epochs each

    def stop(tag: str, step: int, loss: float) -> None:
        if step == 33:  # mid-epoch 3 (11 steps per epoch), after the LR may have changed
            raise RuntimeError("killed")
    with pytest.raises(RuntimeError, match="killed"):
        recipes.run("qet_amc", "smoke", PLATEAU, out=tmp_path / "killed", quiet=True, on_step=stop)
    (run_dir,) = [p for p in (tmp_path / "killed").iterdir() if not p.name.startswith(".")]
    recipes.run(None, resume=run_dir, quiet=True)
    again = [r for r in RunDir(run_dir).read_metrics() if r.get("kind") is None]
    assert [(r["lr"], r["val_loss"]) for r in again] == [(r["lr"], r["val_loss"]) for r in rec]
    with pytest.raises(ConfigError, match=r"lr_factor=1.5 must be below 1 \(it multiplies the LR on a plateau\)"):
        load_config("qet_amc", None, ["lr_plateau=3", "lr_factor=1.5"])


GOLDEN_CLASSICAL, GOLDEN_QET = 2.5055055618286133, 2.8033456802368164  # smoke preset, seed 0
