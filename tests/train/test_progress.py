"""Console progress: the run folder first, one plain line per epoch off a terminal, rich bars on one, heartbeats."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
import torch
from helpers import cli

from qtrain.train import ProgressBar, RunProgress
from qtrain.train.progress import epoch_line, format_duration

torch.set_num_threads(1)

TINY = ["epochs=3", "n_train=96", "n_test=64", "batch_size=32", "plots=false", "num_threads=1", "n_eval_train=32"]


def _records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_a_run_into_a_pipe_prints_the_folder_first_then_one_line_per_epoch(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _ = cli("run", "qt_image", "--preset", "mnist_qt16", "--out", str(tmp_path), "--set", "protocol=paper",
                *[a for s in TINY for a in ("--set", s)])
    (run,) = tmp_path.iterdir()
    lines = capsys.readouterr().err.splitlines()
    assert rc == 0 and lines[0] == f"run folder: {run}"
    records = _records(run)
    assert len(lines) == 1 + len(records) == 1 + 2 * 3  # classical and QT, 3 epochs each: nothing else
    for line, rec in zip(lines[1:], records):
        m = re.fullmatch(r"(\w+)  epoch (\d)/3  train_loss (\S+)  train_acc (\S+)%  (?:val_loss \S+  val_acc \S+%  )?"
                         r"test_loss (\S+)  test_acc (\S+)%  lr (\S+)  (\S+) s  ETA (\S+)", line)
        assert m is not None, line
        assert ("val_acc" in rec) == (f"val_acc {100 * rec.get('val_acc', 0):.2f}%" in line)  # when validated, shown
        assert (m.group(1), int(m.group(2))) == (rec["model"], rec["epoch"])
        assert float(m.group(3)) == pytest.approx(rec["train_loss"], abs=5.1e-5)
        assert float(m.group(4)) == pytest.approx(100 * rec["train_acc"], abs=5.1e-3)
        assert float(m.group(6)) == pytest.approx(100 * rec["test_acc"], abs=5.1e-3)
        assert float(m.group(7)) == pytest.approx(rec["lr"], rel=5e-3)  # printed with 3 significant digits
        assert rec["epoch"] < 3 or m.group(9) == "0s"  # nothing left after the last epoch


def test_quiet_run_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _ = cli("run", "qt_image", "--preset", "mnist_qt16", "--out", str(tmp_path), "--quiet",
                *[a for s in [*TINY, "epochs=1", "models=classical"] for a in ("--set", s)])
    assert rc == 0 and capsys.readouterr().err == ""


def _fake_clock() -> tuple[list[float], RunProgress, io.StringIO]:
    now, out = [0.0], io.StringIO()
    return now, RunProgress(out, terminal=False, heartbeat_s=30, clock=lambda: now[0]), out


def test_epoch_lines_give_total_epochs_seconds_and_eta_from_the_bar() -> None:
    now, progress, out = _fake_clock()
    with progress.active():
        bar = ProgressBar("qt", total=40, completed=10)  # resumed after 10 of 4 x 10 steps
        for step in range(11, 21):
            now[0] = 2.0 * (step - 10)
            bar.advance(f"loss {1 / step:.3f}")
        progress.log({"model": "qt", "epoch": 2, "step": 20, "train_loss": 0.25, "val_acc": 0.5, "lr": 0.01})
        bar.close()
    # 10 steps in 20 s -> 2 s/step, 20 steps left -> 40 s; 40 steps / (20 steps / 2 epochs) = 4 epochs
    assert out.getvalue() == "qt  epoch 2/4  train_loss 0.2500  val_acc 50.00%  lr 0.01  20.0 s  ETA 40s\n"


def test_a_long_silent_epoch_prints_a_heartbeat_step_line() -> None:
    now, progress, out = _fake_clock()
    with progress.active():
        bar = ProgressBar("classical", total=100)
        for step in range(1, 41):
            now[0] = float(step)  # 1 s per step: the 30th step is 30 s after the start
            bar.advance(f"loss {step / 100:.2f}")
        bar.close()
    assert out.getvalue() == "classical  step 30/100  loss 0.30  ETA 1m10s\n"


def test_a_terminal_gets_a_rich_bar_with_the_epoch_lines_above_it() -> None:
    out = io.StringIO()
    progress = RunProgress(out, terminal=True)
    with progress.active():
        bar = ProgressBar("qt", total=4)
        for _ in range(2):
            bar.advance("loss 0.5")
        progress.log({"model": "qt", "epoch": 1, "step": 2, "train_loss": 0.5, "lr": 0.1})
        bar.close()
    text = out.getvalue()
    assert "qt  epoch 1/2  train_loss 0.5000  lr 0.1" in text and "\x1b[" in text  # ANSI: drawn by rich
    assert re.search(r"qt .*2/4", re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text))


def test_bars_outside_a_run_stay_silent_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    bar = ProgressBar("qt", total=3)
    bar.advance("loss 1")
    bar.close()
    assert capsys.readouterr().err == ""


def test_line_formats() -> None:
    assert epoch_line({"model": "qt", "epoch": 5, "step": 50, "big": 123456.0, "n": 3, "flag": True,
                       "name": "x"}) == "qt  epoch 5  big 1.235e+05  n 3"
    assert epoch_line({"model": "qet", "kind": "final", "overall_acc": 0.4321}, seconds=None) == (
        "qet  final  overall_acc 43.21%")
    assert [format_duration(s) for s in (0, 59.4, 60, 3599, 3600, -1)] == ["0s", "59s", "1m00s", "59m59s",
                                                                          "1h00m", "?"]
