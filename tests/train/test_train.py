"""Training machinery: seeding, atomic checkpoints, exact resume, early stopping, run folders."""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from qtrain import recipes
from qtrain.train import (EarlyStopping, RunDir, ShuffledBatches, atomic_write, capture_rng_state, load_checkpoint,
                          restore_rng_state, save_checkpoint, seed_everything)

# a tiny run: 256 training images, 8 steps of 32 per epoch, both models, 2 epochs each
TINY = ["n_train=256", "n_test=100", "batch_size=32", "epochs=2", "blocks=2", "lr=1e-2", "ckpt_every=3",
        "plots=false", "relu=true", "num_threads=1"]


class Killed(RuntimeError):
    """Raised by a step hook to simulate a crash mid-epoch."""


def killer(tag: str, step: int) -> Any:
    def hook(t: str, s: int, loss: float) -> None:
        if (t, s) == (tag, step):
            raise Killed(f"killed at {t} step {s}")
    return hook


def final_weights(run_dir: Path, tag: str) -> dict[str, torch.Tensor]:
    return load_checkpoint(run_dir / "checkpoints" / tag / "last.pt")["model"]


def metrics_without_times(run_dir: Path) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "epoch_time_s"} for r in RunDir(run_dir).read_metrics()]


# ----------------------------------------------------------------------------- seeding / RNG
def test_rng_state_round_trip() -> None:
    seed_everything(5)
    state = capture_rng_state()
    a = (random.random(), float(np.random.rand()), torch.rand(3))
    random.random(), np.random.rand(), torch.rand(3)
    restore_rng_state(state)
    b = (random.random(), float(np.random.rand()), torch.rand(3))
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])
    with pytest.raises(ValueError, match=r"seed=-1 must be a non-negative integer"):
        seed_everything(-1)


def test_shuffled_batches_replay_from_epoch_start() -> None:
    ds = torch.utils.data.TensorDataset(torch.arange(10))
    loader = ShuffledBatches(ds, batch_size=4, seed=1)
    first = [b[0].tolist() for b in loader.epoch()]
    second = [b[0].tolist() for b in loader.epoch()]
    state = loader.epoch_start_state  # the generator state the second epoch started from
    assert first != second and sorted(sum(first, [])) == list(range(10))
    assert [b[0].tolist() for b in loader.epoch(start_step=1, generator_state=state)] == second[1:]
    with pytest.raises(ValueError, match=r"batch_size=0 must be a positive integer"):
        ShuffledBatches(ds, batch_size=0)


# ----------------------------------------------------------------------------- atomic writes
def test_checkpoint_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ckpt" / "last.pt"
    save_checkpoint(path, {"step": 1, "w": torch.ones(3)})
    real_save = torch.save

    def half_then_crash(obj: Any, fh: Any) -> None:
        real_save(obj, fh)
        fh.truncate(10)
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", half_then_crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"step": 2, "w": torch.zeros(3)})
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.pt"]  # no temporary file left
    assert load_checkpoint(path)["step"] == 1  # the previous checkpoint is intact
    monkeypatch.undo()
    with pytest.raises(ZeroDivisionError):
        atomic_write(tmp_path / "new.bin", lambda fh: (fh.write(b"partial"), 1 / 0))
    assert not (tmp_path / "new.bin").exists() and list(tmp_path.glob(".new.bin*")) == []


# ----------------------------------------------------------------------------- resume
@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("full")
    return recipes.run("qt_image", "mnist_qt16", TINY, out=out, quiet=True).run_dir


@pytest.mark.parametrize("tag,step", [("classical", 5), ("qt", 13)])
def test_killed_run_resumes_to_identical_weights(uninterrupted: Path, tmp_path: Path, tag: str, step: int) -> None:
    with pytest.raises(Killed):
        recipes.run("qt_image", "mnist_qt16", TINY, out=tmp_path, quiet=True, on_step=killer(tag, step))
    (run_dir,) = tmp_path.iterdir()
    assert not (run_dir / "summary.json").exists()
    ckpt = load_checkpoint(run_dir / "checkpoints" / tag / "last.pt")
    assert ckpt["global_step"] == 3 * (step // 3) and ckpt["step_in_epoch"] == ckpt["global_step"] % 8
    res = recipes.run(None, resume=run_dir, quiet=True)
    for t in ("classical", "qt"):
        a, b = final_weights(uninterrupted, t), final_weights(run_dir, t)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), t
    assert metrics_without_times(run_dir) == metrics_without_times(uninterrupted)
    assert res.summary["resumed"] is True
    assert res.summary["models"]["qt"]["steps"] == 16 and res.summary["models"]["classical"]["epochs_run"] == 2
    full = json.loads((uninterrupted / "summary.json").read_text())
    assert res.summary["models"]["qt"]["test_acc"] == full["models"]["qt"]["test_acc"]


def test_resume_refuses_new_settings(uninterrupted: Path) -> None:
    with pytest.raises(ValueError, match=r"--resume continues a run with the config in its config.yaml"):
        recipes.run("qt_image", resume=uninterrupted, overrides=["lr=1"])
    with pytest.raises(FileNotFoundError, match=r"is not a qtrain run folder \(no run.json\)"):
        recipes.run(None, resume=uninterrupted / "checkpoints")


# ----------------------------------------------------------------------------- early stopping
def test_early_stopping_counts() -> None:
    es = EarlyStopping(patience=3, mode="max")
    flags = [es.update(v) for v in (0.1, 0.2, 0.2, 0.15, 0.19)]
    assert flags == [True, True, False, False, False] and es.should_stop and es.best_epoch == 1
    es2 = EarlyStopping(patience=2, mode="min", min_delta=0.05)
    assert [es2.update(v) for v in (1.0, 0.97, 0.9)] == [True, False, True] and not es2.should_stop
    assert not EarlyStopping(0).should_stop
    with pytest.raises(ValueError, match=r"mode='up' is unknown; use 'max' \(accuracy\) or 'min' \(loss\)"):
        EarlyStopping(1, mode="up")  # type: ignore[arg-type]


def test_recipe_stops_after_patience_non_improving_epochs(tmp_path: Path) -> None:
    # lr 1e-12: the weights do not move, so val_acc never improves after epoch 1
    res = recipes.run("qt_image", "mnist_classical",
                      ["n_train=128", "n_val=100", "n_test=100", "batch_size=64", "classical_epochs=10",
                       "classical_lr=1e-12", "patience=2", "plots=false", "num_threads=1"], out=tmp_path, quiet=True)
    records = RunDir(res.run_dir).read_metrics()
    assert [r["epoch"] for r in records] == [1, 2, 3]  # 1 + patience epochs
    assert res.summary["models"]["classical"]["epochs_run"] == 3
    assert load_checkpoint(res.run_dir / "checkpoints" / "classical" / "best.pt")["epoch"] == 1
    assert load_checkpoint(res.run_dir / "checkpoints" / "classical" / "last.pt")["finished"] is True


def test_run_dir_name_and_unique(tmp_path: Path) -> None:
    a = RunDir.create(tmp_path, "qt_image", "demo", 3, now=0)
    b = RunDir.create(tmp_path, "qt_image", "demo", 3, now=0)
    assert a.path.name.startswith("qt_image__demo__s3__19") and b.path.name == a.path.name + "-2"
