"""The diffqas_image recipe through the real CLI: artifacts, exact counts, architecture, derive, export, errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from helpers import cli
from safetensors.torch import load_file

from qtrain.config import ConfigError, load_config_file
from qtrain.models import image_mlp
from qtrain.recipes import load_config
from qtrain.recipes.diffqas.diffqas_image import DiffQASImageConfig, build_model, load_data
from qtrain.train import load_checkpoint

SETS = ["configs=[2]", "derive_epochs=1", "max_steps=2", "num_threads=1", "n_train=200", "n_test=60", "depth=2"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("diffqas_image")
    rc, text = cli("run", "diffqas_image", "--preset", "smoke", "--seed", "2", "--out", str(out), "--quiet",
                   *[a for s in SETS for a in ("--set", s)])
    assert rc == 0, text
    (folder,) = out.iterdir()
    return folder


def test_artifacts_and_metrics(run_dir: Path) -> None:
    for name in ("config.yaml", "metrics.jsonl", "summary.json", "model.safetensors", "curves.png",
                 "checkpoints/diffqas/last.pt", "checkpoints/config2/last.pt", "checkpoints/derived/last.pt"):
        assert (run_dir / name).is_file(), name
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [(r["model"], r["step"]) for r in records] == [("diffqas", 2), ("config2", 2), ("derived", 2)]
    assert sorted(k for k in records[0] if k.startswith("w")) == sorted(f"w{k}" for k in range(1, 13))
    assert {"test_acc", "test_loss", "train_loss"} <= set(records[1])


def test_summary_counts_and_architecture(run_dir: Path) -> None:
    s = json.loads((run_dir / "summary.json").read_text())["models"]
    d, c = s["diffqas"]["params"], s["config2"]["params"]
    # depth 2 here: 17 x 2 angles; the paper's depth 15 gives 255 + 19 + 12 = 286 (tests/qt)
    assert (d["qnn"], d["mapping"], d["extras"], d["generated"], d["n_qubits"]) == (34, 19, 12, 108_866, 17)
    assert (c["qnn"], c["mapping"], c["extras"]) == (34, 19, 0)
    arch = s["diffqas"]["architecture"]
    assert len(arch["weights"]) == 12 and arch["argmax"] == s["derived"]["derived_from"]
    assert s["diffqas"]["steps"] == 2 and s["derived"]["steps"] == 2
    assert 0.0 <= s["diffqas"]["test_acc"] <= 1.0 and s["config2"]["architecture"] is None


def test_exported_model_is_the_derived_network(run_dir: Path) -> None:
    cfg = load_config_file(DiffQASImageConfig, run_dir / "config.yaml")
    search = build_model(cfg, "diffqas")
    search.load_state_dict(load_checkpoint(run_dir / "checkpoints/diffqas/last.pt")["model"])
    derived = search.derive()
    derived.load_state_dict(load_checkpoint(run_dir / "checkpoints/derived/last.pt")["model"])
    plain = image_mlp()
    plain.load_state_dict(load_file(run_dir / "model.safetensors"))
    x = load_data(cfg).test.tensors[0][:20]
    derived.eval()
    with torch.no_grad():
        torch.testing.assert_close(plain(x), derived(x), rtol=1e-5, atol=1e-5)
    rc, _ = cli("export", str(run_dir))
    assert rc == 0 and (run_dir / "model.safetensors").is_file()


def test_config_errors_are_reported_together() -> None:
    with pytest.raises(ConfigError) as exc:
        load_config("diffqas_image", "smoke", ["configs=[0,3]", "search=false", "derive_epochs=2", "lr=nan",
                                                "n_train=950"])
    assert exc.value.problems == [
        "lr=nan is not finite; allowed: a finite number > 0",
        "configs=(0, 3) must be distinct Table I numbers in 1..12, e.g. (1, 2, 3)",
        "derive_epochs=2 needs search=true (it retrains the search's arg-max)",
        "n_train + n_test = 1050 > 1000 MNIST-5k images of the pair; lower them",
    ]
    with pytest.raises(ConfigError, match="nothing to train: set search=true"):
        load_config("diffqas_image", None, ["search=false"])
    with pytest.raises(ConfigError, match=r"task='mnist_3_8': allowed values are \['mnist_1_5'"):
        load_config("diffqas_image", None, ["task=mnist_3_8"])


def test_a_run_made_before_center_rows_existed_resumes_as_it_ran(tmp_path: Path) -> None:
    import hashlib

    from qtrain.recipes import run

    sets = ["search=false", "configs=[8]", "epochs=2", "n_train=200", "n_test=60", "depth=2", "num_threads=1",
            "plots=false", "center_rows=false", "ckpt_every=1", "max_steps=None"]
    full = run("diffqas_image", "smoke", sets, out=tmp_path / "a", quiet=True)

    def crash(tag: str, step: int, loss: float) -> None:
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run("diffqas_image", "smoke", sets, out=tmp_path / "b", quiet=True, on_step=crash)
    (folder,) = (tmp_path / "b").iterdir()
    # what an older qtrain wrote: no center_rows line, and run.json's checksum of that file
    text = "".join(line for line in (folder / "config.yaml").read_text().splitlines(keepends=True)
                   if not line.startswith("center_rows:"))
    (folder / "config.yaml").write_text(text)
    info = json.loads((folder / "run.json").read_text())
    info["config_sha256"] = hashlib.sha256(text.encode()).hexdigest()
    (folder / "run.json").write_text(json.dumps(info))
    resumed = run(None, resume=folder, quiet=True)
    assert resumed.summary["config"]["center_rows"] is False  # the recipe's default is true: the old value wins
    assert resumed.summary["models"]["config8"]["test_acc"] == full.summary["models"]["config8"]["test_acc"]
    wa = load_checkpoint(full.run_dir / "checkpoints/config8/last.pt")["model"]
    wb = load_checkpoint(folder / "checkpoints/config8/last.pt")["model"]
    for key in wa:
        torch.testing.assert_close(wa[key], wb[key], rtol=0, atol=0)
