"""The qt_image recipe through the real CLI: artifacts, exact parameter counts, export, golden losses."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from helpers import cli
from safetensors.torch import load_file

from qtrain import recipes
from qtrain.cli import main
from qtrain.config import load_config_file, yaml_header
from qtrain.data import load_image_splits
from qtrain.models import MnistCNN
from qtrain.qt import count_parameters
from qtrain.recipes.quantum_train.qt_image import QTImageConfig, build_model
from qtrain.train import load_checkpoint

CLI_SETS = ["max_steps=3", "n_train=256", "n_test=200", "batch_size=32", "num_threads=1"]


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("cli")
    args = ["run", "qt_image", "--preset", "mnist_qt16", "--seed", "1", "--out", str(out), "--quiet"]
    rc, text = cli(*args, *[a for s in CLI_SETS for a in ("--set", s)])
    assert rc == 0
    (run_dir,) = out.iterdir()
    return run_dir, text


def test_cli_run_writes_every_artifact(cli_run: tuple[Path, str]) -> None:
    run_dir, text = cli_run
    assert run_dir.name.startswith("qt_image__mnist_qt16__s1__")
    for name in ("run.json", "config.yaml", "metrics.jsonl", "summary.json", "model.safetensors", "curves.png",
                 "checkpoints/classical/last.pt", "checkpoints/qt/last.pt"):
        assert (run_dir / name).is_file(), name
    assert "QT-16 ry_cnot" in text and "classical CNN" in text and f"run folder: {run_dir}" in text
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [(r["model"], r["epoch"], r["step"]) for r in records] == [("classical", 1, 3), ("qt", 1, 3)]


def test_summary_parameter_counts_are_exact(cli_run: tuple[Path, str]) -> None:
    summary = json.loads((cli_run[0] / "summary.json").read_text())
    qt, classical = summary["models"]["qt"]["params"], summary["models"]["classical"]["params"]
    assert (qt["trainable"], qt["generated"], qt["qnn"], qt["mapping"], qt["extras"]) == (457, 6690, 208, 249, 0)
    assert (qt["n_qubits"], qt["n_groups"]) == (13, 6690)
    assert (classical["trainable"], classical["classical"]) == (6690, 6690)
    assert summary["models"]["qt"]["param_ratio"] == pytest.approx(457 / 6690)
    assert summary["models"]["qt"]["steps"] == 3 and summary["seed"] == 1
    assert summary["peak_memory"]["cpu_max_rss_mib"] > 0 and summary["wall_time_s"] > 0


def test_config_yaml_reproduces_the_run(cli_run: tuple[Path, str]) -> None:
    path = cli_run[0] / "config.yaml"
    cfg = load_config_file(QTImageConfig, path)
    assert (cfg.max_steps, cfg.seed, cfg.blocks, cfg.n_train) == (3, 1, 16, 256)
    assert yaml_header(path)[1] == ("qtrain run qt_image --preset mnist_qt16 --seed 1 --set max_steps=3 "
                                    "--set n_train=256 --set n_test=200 --set batch_size=32 --set num_threads=1")


def test_exported_model_equals_the_quantum_train_model(cli_run: tuple[Path, str]) -> None:
    run_dir = cli_run[0]
    cfg = load_config_file(QTImageConfig, run_dir / "config.yaml")
    qt = build_model(cfg, "qt")
    assert cfg.select == "best_val"  # the fast protocol exports the best-validation (EMA) weights
    qt.load_state_dict(load_checkpoint(run_dir / "checkpoints" / "qt" / "best.pt")["model"])
    plain = MnistCNN(relu=cfg.relu)
    plain.load_state_dict(load_file(run_dir / "model.safetensors"))
    x = load_image_splits("mnist5k", 10, 0, 50, seed=0).test.tensors[0]
    qt.eval()
    with torch.no_grad():
        torch.testing.assert_close(plain(x), qt(x), rtol=1e-5, atol=1e-5)


def test_cli_export_rewrites_the_model(cli_run: tuple[Path, str]) -> None:
    run_dir = cli_run[0]
    before = load_file(run_dir / "model.safetensors")
    (run_dir / "model.safetensors").unlink()
    rc, text = cli("export", str(run_dir))
    assert rc == 0 and "model.safetensors" in text
    after = load_file(run_dir / "model.safetensors")
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)


def test_cli_ls_lists_presets_with_headers() -> None:
    rc, text = cli("ls")
    assert rc == 0
    for name, path in recipes.list_presets("qt_image").items():
        assert f"--preset {name}" in text and yaml_header(path)[0][:40] in text
    rc, text = cli("ls", "qt_image")
    assert "mapping_hidden" in text and "[tuple[int, ...]]" in text


def test_cli_user_errors_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["run", "qt_image", "--preset", "nope", "--out", str(tmp_path)]) == 2
    assert "preset='nope' is not a preset of recipe 'qt_image'" in capsys.readouterr().err
    assert main(["run"]) == 2
    from qtrain.recipes import recipe_names

    assert f"recipe=None; name one of {recipe_names()}" in capsys.readouterr().err
    assert main(["export", str(tmp_path)]) == 2
    assert "is not a qtrain run folder (no run.json)" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("preset,trainable", [("mnist_qt16", 457), ("mnist_qt31", 652), ("mnist_qt106", 1627),
                                              ("mnist_qt121", 1822), ("mnist_official_l16", 1497)])
def test_presets_build_models_with_the_papers_counts(preset: str, trainable: int) -> None:
    s = count_parameters(build_model(recipes.load_config("qt_image", preset), "qt"))
    assert (s.trainable, s.generated, s.n_qubits) == (trainable, 6690, 13)


def test_demo_preset_meets_its_parameter_budget() -> None:
    cfg = recipes.load_config("qt_image", "mnist5k_demo")
    s = count_parameters(build_model(cfg, "qt"))
    assert s.trainable < 0.25 * 6690 and cfg.models == "both"


# ----------------------------------------------------------------------------- golden values
GOLDEN = {"classical": [2.278945, 2.231625, 2.277907], "qt": [3.238632, 2.294282, 2.300996]}  # recorded, seed 0


def test_golden_first_losses(tmp_path: Path) -> None:
    losses: dict[str, list[float]] = {"classical": [], "qt": []}
    res = recipes.run("qt_image", "mnist_qt16", ["protocol=paper", "max_steps=3", "n_train=128", "n_test=100",
                                                 "batch_size=32", "plots=false", "lr=1e-2", "num_threads=1"],
                      out=tmp_path, quiet=True, on_step=lambda tag, step, loss: losses[tag].append(loss))
    for tag, want in GOLDEN.items():
        torch.testing.assert_close(torch.tensor(losses[tag]), torch.tensor(want), rtol=0, atol=1e-4)
    assert [row["model"] for row in res.table] == ["classical CNN", "QT-16 ry_cnot"]
