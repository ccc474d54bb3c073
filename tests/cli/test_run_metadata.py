"""Run folders record where and how they ran; the exported weights name their class, config and commit."""
from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import numpy
import torch
from helpers import cli
from safetensors import safe_open
from safetensors.torch import load_file

import qtrain
from qtrain.models import MnistCNN
from qtrain.train.environment import git_state, run_environment

torch.set_num_threads(1)

TINY = ["epochs=1", "n_train=64", "n_test=32", "batch_size=32", "plots=false", "num_threads=1", "n_eval_train=32"]


def _run(out: Path, *sets: str) -> Path:
    rc, _ = cli("run", "qt_image", "--preset", "mnist_qt16", "--out", str(out), "--quiet",
                *[a for s in [*TINY, *sets] for a in ("--set", s)])
    assert rc == 0
    (run,) = out.iterdir()
    return run


def _meta(path: Path) -> dict[str, str]:
    with safe_open(str(path), framework="pt") as fh:
        return dict(fh.metadata())


def test_run_json_records_commit_versions_host_threads_device_and_command(tmp_path: Path, repo_root: Path) -> None:
    run = _run(tmp_path, "models=qt")
    env = json.loads((run / "run.json").read_text())["environment"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo_root, capture_output=True, text=True).stdout.strip()
    assert env["git"]["commit"] == head and isinstance(env["git"]["dirty"], bool)
    assert Path(env["git"]["root"]).resolve() == repo_root.resolve()
    assert env["versions"] == {"qtrain": qtrain.__version__, "torch": torch.__version__,
                               "numpy": numpy.__version__, "python": platform.python_version()}
    assert env["threads"]["torch_threads"] == 1  # the run's num_threads, set before it is recorded
    assert env["device"] == "cpu" and env["cuda_available"] == torch.cuda.is_available()
    assert env["host"] == platform.node() and env["command"].split()[0] in ("qtrain", Path(sys.argv[0]).name)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["overrides"] == [*TINY, "models=qt"]


def test_exported_weights_name_class_config_and_commit_and_load_into_the_class(tmp_path: Path) -> None:
    run = _run(tmp_path, "models=qt")
    meta = _meta(run / "model.safetensors")
    info = json.loads((run / "run.json").read_text())
    assert meta["target_class"] == "qtrain.models.cnn.MnistCNN" and meta["qtrain_recipe"] == "qt_image"
    assert json.loads(meta["qtrain_config"]) == json.loads((run / "summary.json").read_text())["config"]
    assert (meta["qtrain_commit"], meta["qtrain_run"], meta["qtrain_version"]) == (
        str(info["environment"]["git"]["commit"]), run.name, qtrain.__version__)
    MnistCNN().load_state_dict(load_file(run / "model.safetensors"))  # the named class takes the weights
    before = load_file(run / "model.safetensors")
    (run / "model.safetensors").unlink()
    assert cli("export", str(run))[0] == 0  # qtrain export writes the same weights and metadata again
    assert _meta(run / "model.safetensors") == meta
    after = load_file(run / "model.safetensors")
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_classical_export_names_its_class_too(tmp_path: Path) -> None:
    run = _run(tmp_path, "models=classical")
    meta = _meta(run / "model.safetensors")
    assert meta["target_class"] == "qtrain.models.cnn.MnistCNN" and "producer" not in meta


def test_a_resume_appends_its_environment(tmp_path: Path) -> None:
    run = _run(tmp_path, "models=classical", "epochs=2", "max_steps=2")
    assert "resumes" not in json.loads((run / "run.json").read_text())
    assert cli("run", "--resume", str(run), "--quiet")[0] == 0
    info = json.loads((run / "run.json").read_text())
    assert len(info["resumes"]) == 1 and info["resumes"][0]["git"] == info["environment"]["git"]


def test_git_state_outside_a_checkout_is_none(tmp_path: Path) -> None:
    assert git_state(tmp_path) == {"commit": None, "dirty": None, "root": None}
    assert run_environment(argv=["/x/bin/qtrain", "run", "a b"])["command"] == "qtrain run 'a b'"
