"""``device`` and ``precision``, run options of every recipe: same runs on the CPU, clear refusals, bf16 autocast."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

from helpers import cli
from qtrain import recipes
from qtrain.recipes.options import RunOptions, load_run_config, resolve_compute, resolve_device, split_overrides
from qtrain.config import option
from qtrain.recipes.registry import RECIPE_MODULES, Recipe, recipe_names
from qtrain.train import load_checkpoint

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the errors of a machine without CUDA")

NO_CUDA = (f"device='cuda' is not available: this torch build has no CUDA (torch {torch.__version__}); use "
           "device='cpu', or a CUDA build of torch on a machine with an NVIDIA GPU")

# each recipe's smoke preset cut to a few steps: (preset, overrides)
TINY = {
    "qt_image": ("mnist_qt16", ["max_steps=2", "n_train=128", "n_val=0", "n_test=50", "batch_size=32",
                                "n_eval_train=0", "plots=false", "select=last", "num_threads=1"]),
    "qet_amc": ("smoke", ["max_steps=2", "num_threads=1"]),
    "pilot_assignment": ("smoke", ["max_steps=2", "num_threads=1"]),
    "v2x_qcnn": ("smoke", ["max_steps=2", "num_threads=1", "epochs=1"]),
    "v2x_semantic": ("smoke", ["max_steps=2", "num_threads=1", "epochs=1"]),
    "v2x_fusion": ("smoke", ["max_steps=2", "num_threads=1", "epochs=1"]),
    "v2x_transfer": ("smoke", ["max_steps=2", "num_threads=1", "epochs=1"]),
    "v2x_federated": ("smoke", ["rounds=1", "num_threads=1"]),
    "diffqas_image": ("smoke", ["num_threads=1"]),
    "diffqas_series": ("smoke", ["num_threads=1"]),
    "diffqas_rl": ("smoke", ["num_threads=1", "workers=1"]),  # two A3C workers interleave in any order
}


def _state(run_dir: Path) -> dict[str, torch.Tensor]:
    out = {}
    for path in sorted((run_dir / "checkpoints").glob("*/last.pt")):
        out.update({f"{path.parent.name}.{k}": v for k, v in load_checkpoint(path)["model"].items()})
    if not out:  # v2x_federated keeps no checkpoints: its exported model
        from safetensors.torch import load_file

        out = load_file(str(run_dir / "model.safetensors"))
    return out


def _losses(run_dir: Path) -> list[float]:
    records = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [r[k] for r in records for k in sorted(r) if k.endswith("loss") or k.endswith("acc")]


def test_every_registered_recipe_has_a_tiny_case() -> None:
    assert set(recipe_names()) == set(TINY)


@pytest.mark.parametrize("recipe", sorted(TINY))
def test_device_cpu_equals_the_default_bit_for_bit(recipe: str, tmp_path: Path) -> None:
    if recipe not in recipe_names():
        pytest.skip(f"{recipe} is not registered on this branch")
    preset, sets = TINY[recipe]
    default = recipes.run(recipe, preset, sets, out=tmp_path / "a", quiet=True)
    explicit = recipes.run(recipe, preset, [*sets, "device=cpu", "precision=float32"], out=tmp_path / "b", quiet=True)
    a, b = _state(default.run_dir), _state(explicit.run_dir)
    assert a.keys() == b.keys() and len(a) > 0
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _losses(default.run_dir) == _losses(explicit.run_dir)
    assert explicit.summary["compute"] == {"device": "cpu", "precision": "float32", "nproc": 1}


def test_auto_is_the_cpu_here_and_cuda_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _ = cli("run", "qt_image", "--preset", "mnist_qt16", "--set", "device=cuda", "--out", str(tmp_path))
    assert rc == 2
    assert capsys.readouterr().err == f"qtrain run: error: {NO_CUDA}\n"
    assert not tmp_path.exists() or list(tmp_path.iterdir()) == []  # refused before any run folder
    assert resolve_device("auto") == torch.device("cpu")


def test_cuda_index_and_unknown_devices_are_refused() -> None:
    with pytest.raises(ValueError, match=r"^device='cuda:7' is not available: this torch build has no CUDA"):
        resolve_device("cuda:7")
    for bad in ("gpu", "mps", "cpu:0", "cuda:", "CUDA", " cpu"):
        with pytest.raises(ValueError, match=r"is not a device; use 'cpu', 'cuda', 'cuda:N' or 'auto'$"):
            resolve_device(bad)


def test_sweep_refuses_cuda_before_any_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _ = cli("sweep", "qt_image", "--set", "device=cuda:7", "--out", str(tmp_path))
    assert rc == 2
    err = capsys.readouterr().err
    assert "device='cuda:7' is not available: this torch build has no CUDA" in err
    assert not tmp_path.exists() or list(tmp_path.iterdir()) == []


def test_fp16_needs_cuda_and_recipes_name_what_they_cannot_honour(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match=r"^precision='fp16' needs a CUDA device but device='cpu'; use "
                                         r"precision=bf16 on the CPU, or device=cuda with a GPU$"):
        resolve_compute("qt_image", RunOptions(precision="fp16"))
    with pytest.raises(ValueError, match=r"^device='cuda': recipe v2x_federated cannot honour it: its Flower clients "
                                         r"train on the CPU \(transport=grpc: in separate processes\); use "
                                         r"device=cpu \(the default\)$"):
        resolve_compute("v2x_federated", RunOptions(device="cuda"))
    assert resolve_compute("v2x_transfer", RunOptions(device="auto")).device == torch.device("cpu")
    rc, _ = cli("run", "v2x_transfer", "--preset", "smoke", "--nproc", "2")
    assert rc == 2
    assert capsys.readouterr().err == ("qtrain run: error: nproc=2: recipe v2x_transfer cannot honour it: its batches "
                                       "are environment rollouts, not a dataset the ranks could split; use nproc=1 "
                                       "(the default)\n")
    with pytest.raises(ValueError, match=r"^nproc=0 must be a positive integer"):
        resolve_compute("qt_image", RunOptions(), nproc=0)
    with pytest.raises(ValueError, match=r"^nproc=100000 is more than \d+ CPU core\(s\) here allow"):
        resolve_compute("qt_image", RunOptions(), nproc=100000)


def test_run_options_split_off_and_bad_values_name_the_option() -> None:
    assert split_overrides("qt_image", ["lr=0.1", "device=cpu", "precision=bf16"]) == (
        ["lr=0.1"], ["device=cpu", "precision=bf16"])
    with pytest.raises(ValueError, match=r"precision='half'"):
        load_run_config("qt_image", "mnist_qt16", ["precision=half"])


def test_bf16_trains_qt_image_to_a_finite_loss_that_differs_from_float32(tmp_path: Path) -> None:
    preset, sets = TINY["qt_image"]
    sets = [*sets, "models=both"]
    f32 = recipes.run("qt_image", preset, sets, out=tmp_path, quiet=True)
    bf16 = recipes.run("qt_image", preset, [*sets, "precision=bf16"], out=tmp_path, quiet=True)
    losses = [[json.loads(x)["train_loss"] for x in (run.run_dir / "metrics.jsonl").read_text().splitlines()]
              for run in (f32, bf16)]
    assert len(losses[1]) == 2 and all(math.isfinite(v) for v in losses[1])  # the classical CNN, then QT
    assert all(abs(a - b) > 1e-7 for a, b in zip(*losses))  # both differ from float32 ...
    assert all(abs(a - b) < 0.05 for a, b in zip(*losses))  # ... by bf16's rounding only
    info = json.loads((bf16.run_dir / "run.json").read_text())
    assert info["compute"] == {"device": "cpu", "precision": "bf16", "nproc": 1}
    assert info["run_options"]["precision"] == "bf16"


@dataclass
class OwnDeviceConfig:
    """A recipe config with a ``device`` field of its own (as the DiffQAS recipes have)."""

    seed: int = option(0, "seed")
    device: str = option("cpu", "the recipe's own device field")


def _never(*_args: Any) -> Any:
    raise AssertionError("not run by this test")


RECIPE = Recipe("toy_own_device", "a recipe with its own device field", OwnDeviceConfig, _never, _never)


def test_a_recipe_field_named_like_a_run_option_gets_the_value_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(RECIPE_MODULES, "toy_own_device", __name__)
    assert split_overrides("toy_own_device", ["device=cpu", "precision=bf16", "seed=3"]) == (
        ["device=cpu", "seed=3"], ["device=cpu", "precision=bf16"])
    cfg, opts = load_run_config("toy_own_device", None, ["device=auto"])
    assert (cfg.device, opts.device) == ("auto", "auto")
