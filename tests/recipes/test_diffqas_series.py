"""The diffqas_series recipe through the real CLI: counts, Table II cells, saved predictions, resume, errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from helpers import cli

from qtrain.config import ConfigError, load_config_file
from qtrain.data.series import load_series
from qtrain.recipes import load_config, run
from qtrain.recipes.diffqas.diffqas_series import DiffQASSeriesConfig, build_model, evaluate
from qtrain.train import load_checkpoint

SETS = ["classical=true", "epochs=2", "max_steps=3", "snapshot_epochs=[1,2]", "num_threads=1", "depth=2"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("diffqas_series")
    rc, text = cli("run", "diffqas_series", "--preset", "smoke", "--out", str(out), "--quiet",
                   *[a for s in SETS for a in ("--set", s)])
    assert rc == 0, text
    (folder,) = out.iterdir()
    return folder


def test_counts_and_table_ii_cells(run_dir: Path) -> None:
    s = json.loads((run_dir / "summary.json").read_text())["models"]
    assert list(s) == ["diffqas", "config7", "classical"]
    d, c, k = s["diffqas"]["params"], s["config7"]["params"], s["classical"]["params"]
    assert (d["qnn"], d["mapping"], d["extras"], d["generated"], d["n_qubits"]) == (22, 13, 12, 1_781, 11)
    assert (c["trainable"], k["trainable"], k["classical"]) == (35, 1_781, 1_781)
    cfg = load_config_file(DiffQASSeriesConfig, run_dir / "config.yaml")
    model = build_model(cfg, "config7")
    model.load_state_dict(load_checkpoint(run_dir / "checkpoints/config7/last.pt")["model"])
    again = evaluate(model, load_series("damped_shm"), torch.device("cpu"))
    assert again["test_mse"] == pytest.approx(s["config7"]["test_mse"], rel=1e-6)
    assert s["diffqas"]["steps"] == 3 and s["diffqas"]["architecture"]["argmax"] in range(1, 13)


def test_predictions_snapshot_the_whole_series(run_dir: Path) -> None:
    snap = json.loads((run_dir / "predictions.json").read_text())
    assert (snap["dataset"], snap["n_train"], len(snap["truth"])) == ("damped_shm", 157, 235)
    assert sorted(snap["models"]) == ["classical", "config7", "diffqas"]
    assert sorted(snap["models"]["diffqas"]) == ["1"] and len(snap["models"]["diffqas"]["1"]) == 235
    assert (run_dir / "predictions.png").is_file()


def test_a_killed_run_resumes_to_the_same_weights(tmp_path: Path) -> None:
    sets = ["search=false", "configs=[8]", "epochs=2", "max_steps=None", "ckpt_every=4", "depth=2", "num_threads=1",
            "plots=false", "snapshot_epochs=[2]"]
    full = run("diffqas_series", "smoke", sets, out=tmp_path / "a", quiet=True)

    def crash(tag: str, step: int, loss: float) -> None:
        if step == 22:  # inside epoch 2 (16 steps per epoch), after the step-20 checkpoint
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run("diffqas_series", "smoke", sets, out=tmp_path / "b", quiet=True, on_step=crash)
    (folder,) = (tmp_path / "b").iterdir()
    resumed = run(None, resume=folder, quiet=True)
    a, b = full.summary["models"]["config8"], resumed.summary["models"]["config8"]
    assert (a["steps"], b["steps"]) == (32, 32) and b["test_mse"] == a["test_mse"]
    wa = load_checkpoint(full.run_dir / "checkpoints/config8/last.pt")["model"]
    wb = load_checkpoint(folder / "checkpoints/config8/last.pt")["model"]
    for key in wa:
        torch.testing.assert_close(wa[key], wb[key], rtol=0, atol=0)
    snap = json.loads((folder / "predictions.json").read_text())
    assert snap["models"]["config8"]["2"] == json.loads((full.run_dir / "predictions.json").read_text())[
        "models"]["config8"]["2"]


def test_config_errors() -> None:
    with pytest.raises(ConfigError) as exc:
        load_config("diffqas_series", None, ["configs=[4,4]", "rms_alpha=1.5", "lr=inf", "dataset=narma2"])
    assert exc.value.problems == [
        "rms_alpha=1.5 is out of range; must be <= 1",
        "lr=inf is not finite; allowed: a finite number > 0",
        "dataset='narma2': allowed values are ['bessel', 'damped_shm', 'delayed_qc', 'narma5', 'narma10'] "
        "(type 'bessel' | 'damped_shm' | 'delayed_qc' | 'narma5' | 'narma10'); help: Table II column: Bessel J2, "
        "damped SHM, delayed quantum control, NARMA-5, NARMA-10",
        "configs=(4, 4) must be distinct Table I numbers in 1..12, e.g. (1, 2, 3)",
    ]
