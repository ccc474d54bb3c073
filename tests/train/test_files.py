"""Run-folder files: checksummed checkpoints, the NaN guard, strict JSON, one file mode, locks, repairs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from qtrain._fileio import clean_stale_temps, file_mode, finite_json, strict_json
from qtrain.train.checkpoint import (CHECKPOINT_MAGIC, CheckpointError, load_checkpoint, save_checkpoint,
                                     save_model_safetensors)
from qtrain.train.rundir import RunDir, RunFolderError

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _state(value: float = 1.0) -> dict[str, object]:
    return {"model": {"w": torch.full((3,), value), "n": torch.tensor([2])}, "step": 7, "history": [{"loss": 0.5}]}


# ----------------------------------------------------------------------------- checkpoints
def test_checkpoint_round_trip_has_a_checksum_header(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "last.pt", _state())
    raw = path.read_bytes()
    assert raw.startswith(CHECKPOINT_MAGIC) and raw[44:46] == b"PK"  # magic, 32-byte SHA-256, torch's zip
    back = load_checkpoint(path)
    assert back["step"] == 7 and torch.equal(back["model"]["w"], torch.ones(3))
    legacy = tmp_path / "legacy.pt"
    torch.save(_state(), legacy)  # written before checksums existed: still loads
    assert load_checkpoint(legacy)["step"] == 7


def test_flipped_truncated_and_empty_checkpoints_are_refused(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "last.pt", _state())
    raw = bytearray(path.read_bytes())
    for pos in (100, 200, 300, len(raw) - 30):  # four flipped bytes inside the payload
        raw[pos] ^= 0x55
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=rf"^checkpoint '{path}' is damaged: its SHA-256 checksum does not "
                                              rf"match its {len(raw) - 44} bytes \(a truncated copy or flipped "
                                              r"bits\); delete the damaged file \(training restarts that model\) or "
                                              r"start a new run$"):
        load_checkpoint(path)
    path.write_bytes(CHECKPOINT_MAGIC + b"\x00" * 10)
    with pytest.raises(CheckpointError, match=r"is truncated \(22 bytes, shorter than its header\)"):
        load_checkpoint(path)
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match=rf"^checkpoint '{path}' is empty; delete the damaged file"):
        load_checkpoint(path)
    path.write_bytes(b"garbage!")
    with pytest.raises(CheckpointError, match=r"is not a qtrain checkpoint \(unknown header\)"):
        load_checkpoint(path)


def test_nan_guard_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "last.pt", _state(1.0))
    with pytest.raises(CheckpointError, match=r"not writing checkpoint '.*last\.pt': the model's weights \['w'\] hold "
                                              r"NaN or inf \(training diverged\); the last good checkpoint is kept"):
        save_checkpoint(path, _state(float("nan")))
    assert torch.equal(load_checkpoint(path)["model"]["w"], torch.ones(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]
    bad = _state(1.0)
    bad["optimizer"] = {"state": {0: {"exp_avg": torch.tensor([float("inf")])}}}
    save_checkpoint(path, bad)  # the guard checks the weights; loading checks everything
    with pytest.raises(CheckpointError, match=r"holds NaN or inf in \['optimizer\.state\.0\.exp_avg'\]; resuming"):
        load_checkpoint(path)
    assert load_checkpoint(path, require_finite=False)["step"] == 7


def test_safetensors_bytes_do_not_depend_on_the_process(tmp_path: Path) -> None:
    code = ("import sys, torch\nfrom qtrain.train.checkpoint import safetensors_bytes\n"
            "t = {'b': torch.arange(4.0), 'a': torch.ones(2, 3, dtype=torch.float64), 'c': torch.tensor([1, 2])}\n"
            "sys.stdout.buffer.write(safetensors_bytes(t, {'format': 'pt', 'producer': 'x', 'k': '1', 'z': '2'}))\n")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120, check=True,
                           env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"}).stdout for _ in range(4)}
    assert len(outs) == 1  # the stock writer gave 4 different files here (metadata in hash-map order)
    (blob,) = outs
    (tmp_path / "m.safetensors").write_bytes(blob)
    back = load_file(tmp_path / "m.safetensors")
    assert torch.equal(back["a"], torch.ones(2, 3, dtype=torch.float64)) and back["c"].tolist() == [1, 2]
    assert blob[8:8 + int.from_bytes(blob[:8], "little")].startswith(b'{"__metadata__":{"format":"pt","k":"1",')


def test_model_export_refuses_nan_weights(tmp_path: Path) -> None:
    model = torch.nn.Linear(2, 1)
    path = save_model_safetensors(model, tmp_path)
    before = path.read_bytes()
    assert save_model_safetensors(model, tmp_path).read_bytes() == before
    with torch.no_grad():
        model.weight.fill_(float("nan"))
    with pytest.raises(CheckpointError, match=r"not writing '.*model\.safetensors': the weights \['weight'\] hold NaN"):
        save_model_safetensors(model, tmp_path)
    assert path.read_bytes() == before


# ----------------------------------------------------------------------------- JSON, modes, temp files
def test_strict_json_writes_null_and_lists_the_keys() -> None:
    rec = {"loss": float("nan"), "acc": 0.5, "per_snr": {"-2": float("inf")}, "curve": [1.0, float("-inf")]}
    text = strict_json(rec)
    assert json.loads(text) == {"loss": None, "acc": 0.5, "per_snr": {"-2": None}, "curve": [1.0, None],
                                "nonfinite": ["curve.1", "loss", "per_snr.-2"]}
    assert "NaN" not in text and "Infinity" not in text
    assert finite_json([1.0, 2.0]) == ([1.0, 2.0], [])


def test_every_run_file_gets_the_same_mode(tmp_path: Path) -> None:
    from qtrain import recipes

    res = recipes.run("qt_image", "mnist_qt16", ["max_steps=1", "n_train=64", "n_test=32", "batch_size=32",
                                                 "plots=false", "num_threads=1", "n_eval_train=0"],
                      out=tmp_path, quiet=True)
    modes = {p.relative_to(res.run_dir).as_posix(): p.stat().st_mode & 0o777 for p in res.run_dir.rglob("*")
             if p.is_file()}
    assert {"run.json", "config.yaml", "metrics.jsonl", "summary.json", "model.safetensors", ".lock",
            "checkpoints/qt/last.pt"} <= set(modes)
    assert set(modes.values()) == {file_mode()}, modes


def test_stale_temp_files_of_dead_writers_are_removed(tmp_path: Path) -> None:
    dead = tmp_path / f".last.pt.{2**22 + 1}.x7.tmp"  # above Linux's pid_max: no such process
    live = tmp_path / f".last.pt.{os.getpid()}.y8.tmp"
    other = tmp_path / "notes.tmp"
    for p in (dead, live, other):
        p.write_bytes(b"x")
    assert clean_stale_temps(tmp_path) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])


# ----------------------------------------------------------------------------- run folders
def test_out_that_cannot_hold_folders_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunFolderError, match=r"^out='/dev/null/x' cannot hold run folders \(Not a directory\); pass "
                                             r"--out <a writable folder>, e.g. --out runs$"):
        RunDir.create("/dev/null/x", "qt_image", "demo", 0)
    with pytest.raises(RunFolderError, match=r"cannot hold run folders \(Not a directory\)"):
        RunDir.create(tmp_path / "file" / "runs", "qt_image", "demo", 0)


def test_run_json_is_checked(tmp_path: Path) -> None:
    rd = RunDir.create(tmp_path, "qt_image", "demo", 0)
    for text, message in (('{"preset": "demo", "seed": 0}', r"run\.json has no valid 'recipe' \(str\); it holds "
                                                           r"keys \['preset', 'seed'\]; the file is damaged"),
                          ('{"recipe": "qt_image", "preset": "d", "seed": "0"}', r"has no valid 'seed' \(int\)"),
                          ("[1]", r"run\.json holds a list, not an object"),
                          ('{"recipe": ', r"run\.json is not valid JSON \(Expecting value: line 1 column 12")):
        rd.info_path.write_text(text)
        with pytest.raises(RunFolderError, match=message):
            rd.read_info()


def test_metrics_line_cut_by_a_crash_is_dropped_and_repaired(tmp_path: Path) -> None:
    rd = RunDir.create(tmp_path, "qt_image", "demo", 0)
    rd.append_metrics({"model": "qt", "epoch": 1, "train_loss": float("nan")})
    rd.append_metrics({"model": "qt", "epoch": 2})
    rd.metrics_path.write_bytes(rd.metrics_path.read_bytes()[:-9])  # the second line is half written
    assert rd.read_metrics() == [{"model": "qt", "epoch": 1, "train_loss": None, "nonfinite": ["train_loss"]}]
    assert rd.repair() == ["rewrote metrics.jsonl, whose last line was cut short by a crash"]
    rd.append_metrics({"model": "qt", "epoch": 2})
    assert [r["epoch"] for r in rd.read_metrics()] == [1, 2]
    rd.metrics_path.write_text('{"a": 1}\n{oops\n{"b": 2}\n')
    with pytest.raises(RunFolderError, match=r"line 2 of metrics\.jsonl is not a JSON object \(\{oops\); the file is "
                                             r"damaged; delete that line to go on"):
        rd.read_metrics()


def test_a_second_process_cannot_train_in_a_locked_folder(tmp_path: Path) -> None:
    rd = RunDir.create(tmp_path, "qt_image", "demo", 0)
    code = ("import sys\nfrom pathlib import Path\nfrom qtrain.train.rundir import RunDir\n"
            f"with RunDir(Path({str(rd.path)!r})).lock():\n    print('locked', flush=True)\n    sys.stdin.readline()\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"})
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunFolderError, match=rf"^run folder '{rd.path}' is in use by another qtrain process "
                                                 rf"\(pid {holder.pid}\); two processes must not train in one folder"):
            with rd.lock():
                pass
    finally:
        holder.communicate("\n", timeout=60)
    with rd.lock():  # released when the holder exits
        assert rd.lock_path.read_text() == f"{os.getpid()}\n"
