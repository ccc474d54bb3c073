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


# ----------------------------------------------------------------------------- damaged state on resume (issue 13)
def _copy(run_dir: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(run_dir, tmp_path / run_dir.name))


def test_resume_refuses_a_checkpoint_with_flipped_bytes(uninterrupted: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from qtrain.cli import main

    run_dir = _copy(uninterrupted, tmp_path)
    last = run_dir / "checkpoints" / "qt" / "last.pt"
    raw = bytearray(last.read_bytes())
    for pos in (1000, 2000, 3000, 4000):
        raw[pos] ^= 0xFF
    last.write_bytes(bytes(raw))
    assert main(["run", "--resume", str(run_dir), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == (f"qtrain run: error: checkpoint '{last}' is damaged: its SHA-256 checksum does not match its "
                   f"{len(raw) - 44} bytes (a truncated copy or flipped bits); delete the damaged file (training "
                   "restarts that model) or start a new run\n")


def test_resume_refuses_nan_weights_and_incomplete_checkpoints(uninterrupted: Path, tmp_path: Path) -> None:
    import hashlib
    import io

    from qtrain.train.checkpoint import CHECKPOINT_MAGIC, CheckpointError

    run_dir = _copy(uninterrupted, tmp_path)
    last = run_dir / "checkpoints" / "classical" / "last.pt"
    good = last.read_bytes()

    def write(state: dict[str, Any]) -> None:  # a well-formed file with a valid checksum
        buf = io.BytesIO()
        torch.save(state, buf)
        last.write_bytes(CHECKPOINT_MAGIC + hashlib.sha256(buf.getvalue()).digest() + buf.getvalue())

    state = load_checkpoint(last)
    key = sorted(state["model"])[0]
    state["model"][key] = torch.full_like(state["model"][key], float("nan"))
    write(state)
    with pytest.raises(CheckpointError, match=rf"classical/last\.pt' holds NaN or inf in \['model\.{key}'\]"):
        recipes.run(None, resume=run_dir, quiet=True)
    state = load_checkpoint(uninterrupted / "checkpoints" / "classical" / "last.pt")
    del state["optimizer"]
    write(state)
    with pytest.raises(CheckpointError, match=r"classical/last\.pt' lacks \['optimizer'\]; it was not written by this "
                                              r"run's training loop"):
        recipes.run(None, resume=run_dir, quiet=True)
    last.write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match=r"classical/last\.pt' is damaged"):
        recipes.run(None, resume=run_dir, quiet=True)


def test_resume_detects_a_truncated_config_yaml(uninterrupted: Path, tmp_path: Path) -> None:
    from qtrain.train.rundir import RunFolderError

    run_dir = _copy(uninterrupted, tmp_path)
    text = (run_dir / "config.yaml").read_text()
    (run_dir / "config.yaml").write_text(text[: len(text) // 2])
    with pytest.raises(RunFolderError, match=r"config\.yaml does not match the SHA-256 recorded in run\.json"):
        recipes.run(None, resume=run_dir, quiet=True)
    info = json.loads((run_dir / "run.json").read_text())
    del info["config_sha256"]  # a folder written before the checksum: the missing fields still show
    (run_dir / "run.json").write_text(json.dumps(info))
    (run_dir / "config.yaml").write_text("".join(text.splitlines(keepends=True)[:10]))  # cut at a line end
    with pytest.raises(RunFolderError, match=r"config\.yaml lacks the fields \['relu', 'epochs', 'classical_epochs', "
                                             r"'qcml_epochs', 'batch_size'\] \.\.\.; a run's config\.yaml holds "
                                             r"every field, so the file is truncated"):
        recipes.run(None, resume=run_dir, quiet=True)
    (run_dir / "run.json").write_text(json.dumps({k: v for k, v in info.items() if k != "recipe"}))
    with pytest.raises(RunFolderError, match=r"run\.json has no valid 'recipe' \(str\)"):
        recipes.run(None, resume=run_dir, quiet=True)


def test_half_written_metrics_line_and_stale_temps_do_not_stop_a_resume(uninterrupted: Path, tmp_path: Path) -> None:
    with pytest.raises(Killed):
        recipes.run("qt_image", "mnist_qt16", TINY, out=tmp_path, quiet=True, on_step=killer("qt", 13))
    (run_dir,) = tmp_path.iterdir()
    with (run_dir / "metrics.jsonl").open("a") as fh:
        fh.write('{"model": "qt", "epoch": 2, "train_lo')  # the kill landed inside a write
    stale = run_dir / "checkpoints" / "qt" / f".last.pt.{2**22 + 3}.k9.tmp"
    stale.write_bytes(b"half a checkpoint")
    res = recipes.run(None, resume=run_dir, quiet=True)
    assert metrics_without_times(run_dir) == metrics_without_times(uninterrupted)
    a, b = final_weights(uninterrupted, "qt"), final_weights(run_dir, "qt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not stale.exists()
    assert res.notices == [f"removed stale temporary file checkpoints/qt/{stale.name}",
                           "rewrote metrics.jsonl, whose last line was cut short by a crash"]


def test_resume_of_a_folder_in_use_is_refused(uninterrupted: Path, tmp_path: Path) -> None:
    from qtrain.train.rundir import RunFolderError

    run_dir = _copy(uninterrupted, tmp_path)
    before = (run_dir / "summary.json").read_bytes()
    with RunDir(run_dir).lock():  # stands for another process training in the folder (fcntl locks are per open file)
        with pytest.raises(RunFolderError, match=r"is in use by another qtrain process \(pid \d+\); two processes must "
                                                 r"not train in one folder: wait for it to finish or stop it, then "
                                                 r"--resume"):
            recipes.run(None, resume=run_dir, quiet=True)
    assert (run_dir / "summary.json").read_bytes() == before


def test_diverging_run_stops_and_keeps_no_nan_weights(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from qtrain.cli import main

    args = ["run", "qt_image", "--preset", "mnist5k_demo", "--out", str(tmp_path), "--quiet"]
    sets = ["lr=1e9", "classical_lr=1e9", "epochs=3", "n_train=128", "n_test=64", "batch_size=32", "plots=false",
            "num_threads=1", "n_eval_train=0"]
    assert main(args + [a for s in sets for a in ("--set", s)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qtrain run: error: ") and err.count("\n") == 1
    # TrainLoop's loss guard stops at the first non-finite loss, before the checkpoint's weight check is reached
    assert err == ("qtrain run: error: model 'classical': the training loss is nan at step 2 (epoch 1, lr 1e+09); "
                   "training stopped and nothing was saved from this step on; no checkpoint had been written yet; "
                   "fix: lower classical_lr (now 1e+09, e.g. --set classical_lr=1e+07) or clip the gradients harder "
                   "(grad_clip now 1, e.g. --set grad_clip=0.1)\n")
    (run_dir,) = tmp_path.iterdir()
    assert not (run_dir / "model.safetensors").exists()
    assert not (run_dir / "metrics.jsonl").exists()  # it stopped at step 2, before any epoch's record
    for path in run_dir.rglob("*.pt"):  # whatever checkpoint exists holds finite weights
        load_checkpoint(path)


# ----------------------------------------------------------------------------- SIGKILL anywhere, then resume
KILL_SCRIPT = """
import io, os, signal, sys
import qtrain.train.checkpoint as ckpt
from qtrain import recipes

tag, step, mode, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
armed = []
real_write = ckpt.atomic_write

def dying_write(path, write):
    if armed and path.name == "last.pt":  # die inside the checkpoint write: half the bytes in the temp file
        buf = io.BytesIO()
        write(buf)
        def half(fh):
            fh.write(buf.getvalue()[: len(buf.getvalue()) // 2])
            fh.flush()
            os.fsync(fh.fileno())
            os.kill(os.getpid(), signal.SIGKILL)
        return real_write(path, half)
    return real_write(path, write)

def hook(t, s, loss):
    if (t, s) == (tag, step):
        if mode == "step":
            os.kill(os.getpid(), signal.SIGKILL)
        armed.append(True)

ckpt.atomic_write = dying_write
recipes.run("qt_image", "mnist_qt16", sys.argv[5:], out=out, quiet=True, on_step=hook)
"""
KILLS = [("classical", 4, "step"), ("qt", 10, "write")]  # the default run: one plain kill, one inside a write
MORE_KILLS = [(t, s, m) for t in ("classical", "qt") for s in (1, 3, 6, 9, 12, 15) for m in ("step", "write")
              if (t, s, m) not in KILLS][:18]  # with KILLS: 20 kill points (`pytest -m slow`)


def _kill_and_resume(uninterrupted: Path, tmp_path: Path, tag: str, step: int, mode: str) -> None:
    import signal
    import subprocess
    import sys

    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"), "PATH": "/usr/bin:/bin",
           "OMP_NUM_THREADS": "1", "HOME": str(tmp_path)}
    res = subprocess.run([sys.executable, "-c", KILL_SCRIPT, tag, str(step), mode, str(tmp_path), *TINY], env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == -signal.SIGKILL, res.stderr[-2000:]
    (run_dir,) = tmp_path.glob("qt_image__*")
    if mode == "write":
        assert list(run_dir.rglob(".last.pt.*.tmp")), "the kill did not land inside a checkpoint write"
    recipes.run(None, resume=run_dir, quiet=True)
    for t in ("classical", "qt"):
        a, b = final_weights(uninterrupted, t), final_weights(run_dir, t)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), t
        sa = load_checkpoint(uninterrupted / "checkpoints" / t / "last.pt")["optimizer"]["state"]
        sb = load_checkpoint(run_dir / "checkpoints" / t / "last.pt")["optimizer"]["state"]
        assert all(torch.equal(sa[i][k], sb[i][k]) for i in sa for k in sa[i]), t
    assert metrics_without_times(run_dir) == metrics_without_times(uninterrupted)
    assert list(run_dir.rglob("*.tmp")) == []


@pytest.mark.parametrize("tag,step,mode", KILLS)
def test_sigkilled_run_resumes_bit_identically(uninterrupted: Path, tmp_path: Path, tag: str, step: int,
                                               mode: str) -> None:
    _kill_and_resume(uninterrupted, tmp_path, tag, step, mode)


@pytest.mark.slow
@pytest.mark.parametrize("tag,step,mode", MORE_KILLS)
def test_sigkilled_run_resumes_bit_identically_everywhere(uninterrupted: Path, tmp_path: Path, tag: str, step: int,
                                                          mode: str) -> None:
    _kill_and_resume(uninterrupted, tmp_path, tag, step, mode)


# ----------------------------------------------------------------------------- a default needs no optional extra
def test_default_plots_are_skipped_with_one_notice_without_matplotlib(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = ("import sys; sys.modules['matplotlib'] = None  # as after a plain `pip install -e .`\n"
            "from qtrain.cli import main\n"
            f"sys.exit(main(['run', 'qt_image', '--preset', 'mnist5k_demo', '--out', {str(tmp_path)!r}, '--quiet', "
            "'--set', 'max_steps=1', '--set', 'n_train=64', '--set', 'n_test=32', '--set', 'num_threads=1', "
            "'--set', 'n_eval_train=0']))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                         env={"PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"), "PATH": "/usr/bin:/bin",
                              "OMP_NUM_THREADS": "1", "HOME": str(tmp_path)})
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stderr == 'plots skipped: matplotlib is not installed (pip install "qtrain[plot]" for curves.png)\n'
    (run_dir,) = tmp_path.glob("qt_image__*")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["config"]["plots"] is True and "plots" not in summary
    assert summary["notices"] == ['plots skipped: matplotlib is not installed (pip install "qtrain[plot]" for '
                                  'curves.png)']
    assert not (run_dir / "curves.png").exists() and (run_dir / "model.safetensors").is_file()
