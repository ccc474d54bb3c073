"""Metric loggers: CSV, TensorBoard, MLflow and W&B (offline) hold the numbers of metrics.jsonl; errors."""
from __future__ import annotations

import csv
import importlib.util
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from helpers import cli

from qtrain.config import option
from qtrain.recipes import Recipe, RecipeOutput
from qtrain.recipes.registry import RECIPE_MODULES
from qtrain.recipes.runner import run
from qtrain.train import RunContext, RunDir
from qtrain.train.loggers import CSVLogger, scalars

torch.set_num_threads(1)

TINY = ["epochs=2", "n_train=64", "n_test=32", "batch_size=32", "plots=false", "num_threads=1", "n_eval_train=32"]


def _jsonl(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def _expected_series(records: list[dict[str, Any]]) -> dict[str, list[tuple[int, float]]]:
    """Series name -> [(step, value)] as every logger should hold them."""
    out: dict[str, list[tuple[int, float]]] = {}
    for rec in records:
        step, values = scalars(rec)
        for key, value in values.items():
            out.setdefault(key, []).append((step, value))
    return out


def test_csv_and_tensorboard_hold_the_numbers_of_metrics_jsonl(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    rc, _ = cli("run", "qt_image", "--preset", "mnist_qt16", "--out", str(tmp_path), "--quiet",
                *[a for s in [*TINY, "loggers=tensorboard"] for a in ("--set", s)])
    (run,) = tmp_path.iterdir()
    records = _jsonl(run)
    assert rc == 0 and len(records) == 4  # classical + QT, 2 epochs each
    with (run / "metrics.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(records)
    for row, rec in zip(rows, records):
        assert {k: (v if k == "model" else float(v)) for k, v in row.items() if v != ""} == {
            k: (v if k == "model" else float(v)) for k, v in rec.items()}  # exact: CSV keeps every digit
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    expected = _expected_series(records)
    assert sorted(events.Tags()["scalars"]) == sorted(expected)
    for key, points in expected.items():
        got = [(e.step, e.value) for e in events.Scalars(key)]
        assert [s for s, _ in got] == [s for s, _ in points]
        torch.testing.assert_close(torch.tensor([v for _, v in got]), torch.tensor([v for _, v in points]),
                                   rtol=1e-6, atol=0)  # event files store float32


# ----------------------------------------------------------------------------- MLflow and W&B on a toy recipe
@dataclass
class ToyConfig:
    """Three epochs of made-up metrics and a final record, through the run context like any recipe."""

    seed: int = option(0, "seed", min=0)
    epochs: int = option(3, "epochs", min=1)


def _toy_train(cfg: ToyConfig, ctx: RunContext) -> RecipeOutput:
    g = torch.Generator().manual_seed(cfg.seed)
    for epoch in range(1, cfg.epochs + 1):
        ctx.run_dir.append_metrics({"model": "toy", "epoch": epoch, "step": 5 * epoch, "train_loss": 1 / epoch,
                                    "val_acc": float(torch.rand(1, generator=g))})
    ctx.run_dir.append_metrics({"model": "toy", "kind": "final", "test_acc": 0.75})
    return RecipeOutput(summary={"table": [{"model": "toy", "acc": 0.75}]})


def _toy_export(cfg: ToyConfig, run_dir: RunDir) -> Path:  # pragma: no cover - not called
    raise NotImplementedError


RECIPE = Recipe("toy_loggers", "made-up metrics for the logger tests", ToyConfig, _toy_train, _toy_export)


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(RECIPE_MODULES, "toy_loggers", __name__)
    return "toy_loggers"


def _wandb_history(path: Path) -> list[dict[str, Any]]:
    """The ``history`` records of an offline ``.wandb`` file (LevelDB log format: 32 KiB blocks, 7-byte headers)."""
    from wandb.proto import wandb_internal_pb2 as pb

    data, out, pos, chunks = path.read_bytes(), [], 7, b""  # 7 bytes: ":W&B", magic, version
    while pos + 7 <= len(data):
        if (pos % 32768) + 7 > 32768:  # a block's tail too short for a header is padding
            pos += 32768 - pos % 32768
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        chunks += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # FULL or LAST: one record complete
            rec = pb.Record()
            rec.ParseFromString(chunks)
            chunks = b""
            if rec.WhichOneof("record_type") == "history":
                out.append({i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in rec.history.item})
        elif kind == 0:
            break
    return out


@pytest.mark.skipif(importlib.util.find_spec("mlflow") is None or importlib.util.find_spec("wandb") is None,
                    reason="mlflow or wandb not installed")
def test_mlflow_and_offline_wandb_hold_the_numbers_of_metrics_jsonl(toy: str, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.tracking import MlflowClient

    # a file store starts in seconds (the default sqlite store spends ~30 s creating its tables)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "mlruns").as_uri())
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    res = run(toy, overrides=["loggers=mlflow,wandb", "epochs=3"], out=tmp_path, quiet=True)
    records = _jsonl(res.run_dir)
    expected = _expected_series(records)
    assert len(records) == 4 and expected["toy/final/test_acc"] == [(0, 0.75)]
    client = MlflowClient(tracking_uri=(tmp_path / "mlruns").as_uri())
    (mlrun,) = client.search_runs([client.get_experiment_by_name("qtrain").experiment_id])
    assert mlrun.info.run_name == res.run_dir.name and mlrun.info.status == "FINISHED"
    assert mlrun.data.params == {"seed": "0", "epochs": "3"}
    for key, points in expected.items():
        assert [(m.step, m.value) for m in client.get_metric_history(mlrun.info.run_id, key)] == points
    (wandb_file,) = (res.run_dir / "wandb").glob("offline-run-*/run-*.wandb")
    history = _wandb_history(wandb_file)
    assert len(history) == len(records)
    for key, points in expected.items():
        assert [(int(h["toy/epoch"]), h[key]) for h in history if key in h] == points


def test_csv_follows_a_resume_that_drops_records(tmp_path: Path) -> None:
    from qtrain.train.context import ObservedRunDir

    rd = ObservedRunDir(tmp_path, (CSVLogger(tmp_path),))
    for epoch in (1, 2, 3):
        rd.append_metrics({"model": "qt", "epoch": epoch, "loss": 1.0 / epoch, "note": [epoch]})
    rd.filter_metrics(lambda r: r["epoch"] <= 2)  # what TrainLoop does when it resumes from epoch 2
    assert (tmp_path / "metrics.csv").read_text() == 'model,epoch,loss,note\nqt,1,1.0,[1]\nqt,2,0.5,[2]\n'
    again = CSVLogger(tmp_path, rd.read_metrics())  # a resumed process starts from metrics.jsonl
    again.log({"model": "qt", "epoch": 3, "loss": 0.25, "extra": 1})
    assert (tmp_path / "metrics.csv").read_text().splitlines() == [
        "model,epoch,loss,note,extra", "qt,1,1.0,[1],", "qt,2,0.5,[2],", "qt,3,0.25,,1"]


def test_logger_errors_name_the_option_and_the_fix(toy: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("run", toy, "--out", str(tmp_path), "--set", "loggers=tensorbord")[0] == 2
    err = capsys.readouterr().err
    assert err.startswith("qtrain run: error: invalid run options config (from --set), 1 problem:\n"
                          "  - loggers='tensorbord': expected a list of ")
    assert "(allowed values are ['csv', 'tensorboard', 'mlflow', 'wandb'])" in err
    assert cli("run", toy, "--out", str(tmp_path), "--set", "logger=csv", "--set", "epoch=2")[0] == 2
    err = capsys.readouterr().err
    assert "unknown key 'epoch'; did you mean 'epochs'?" in err
    assert "run option unknown key 'logger'; did you mean 'loggers'?" in err
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    assert cli("run", toy, "--out", str(tmp_path), "--set", "loggers=mlflow")[0] == 2
    assert ("loggers='mlflow' needs 'mlflow', which is not installed; install it with: "
            'pip install "qtrain[mlflow]"') in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # no run folder for a run that could not start
