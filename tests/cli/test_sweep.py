"""``qtrain sweep``: presets x seeds and --set grids through the real CLI (serially and in 2 worker processes),
tables, Ray dispatch, errors."""
from __future__ import annotations

import csv
import json
import os
import re
import statistics
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import torch
from helpers import cli

from qtrain.cli import main
from qtrain.sweep import GridPoint, aggregate, expand_grid, grid_points, parse_list, sweep

torch.set_num_threads(1)

TINY = ["max_steps=2", "n_train=64", "n_test=40", "batch_size=32", "plots=false", "num_threads=1", "n_eval_train=40"]


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("sweep")
    rc, text = cli("sweep", "qt_image", "--presets", "mnist_qt16,mnist_qt31", "--seeds", "0,1", "--out", str(out),
                   *[a for s in TINY for a in ("--set", s)])
    assert rc == 0
    (folder,) = out.iterdir()
    return folder, text


def test_sweep_folder_holds_every_run_and_the_tables(grid: tuple[Path, str]) -> None:
    folder, text = grid
    assert folder.name.startswith("sweep__qt_image__")
    runs = sorted(p.name.split("__2")[0] for p in folder.glob("qt_image__*"))
    assert runs == ["qt_image__mnist_qt16__s0", "qt_image__mnist_qt16__s1", "qt_image__mnist_qt31__s0",
                    "qt_image__mnist_qt31__s1"]
    info = json.loads((folder / "sweep.json").read_text())
    assert (info["presets"], info["seeds"], info["overrides"]) == (["mnist_qt16", "mnist_qt31"], [0, 1], TINY)
    assert [(r["preset"], r["seed"]) for r in info["runs"]] == [("mnist_qt16", 0), ("mnist_qt16", 1),
                                                                 ("mnist_qt31", 0), ("mnist_qt31", 1)]
    assert not any("error" in r for r in info["runs"])
    assert f"sweep folder: {folder}" in text and (folder / "results.md").read_text().count("\n| mnist_qt") == 3


def test_sweep_table_is_mean_and_std_over_seeds(grid: tuple[Path, str]) -> None:
    folder, _ = grid
    summaries = [json.loads(p.read_text()) for p in sorted(folder.glob("*/summary.json"))]
    with (folder / "results.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["preset"], r["model"], r["n"], r["params"]) for r in rows] == [
        ("mnist_qt16", "classical CNN", "2", "6690"), ("mnist_qt16", "QT-16 ry_cnot", "2", "457"),
        ("mnist_qt31", "QT-31 ry_cnot", "2", "652")]
    md = (folder / "results.md").read_text()
    for row in rows:
        accs = [t["test %"] for s in summaries if s["preset"] == row["preset"] for t in s["table"]
                if t["model"] == row["model"]]
        mean, std = statistics.mean(accs), statistics.stdev(accs)
        assert float(row["test %__mean"]) == pytest.approx(mean) and float(row["test %__std"]) == pytest.approx(std)
        assert f"| {mean:.2f} ± {std:.2f} |" in md


def test_aggregate_keeps_constant_ints_and_formats_small_numbers() -> None:
    s = [{"preset": "p", "seed": k, "table": [{"model": "m", "params": 10, "acc": a, "t": t}]}
         for k, (a, t) in enumerate([(90.0, 0.5), (92.0, 0.7)])]
    (row,) = aggregate(s)
    assert (row["params"], row["acc"], row["t"], row["seeds"]) == (10, "91.00 ± 1.41", "0.600 ± 0.141", [0, 1])


class FakeRay(types.ModuleType):
    """Enough of Ray's API (init, remote, get) to check qtrain's dispatch without installing it."""

    def __init__(self) -> None:
        super().__init__("ray")
        self.calls: list[Any] = []
        self.inited: Any = None

    def is_initialized(self) -> bool:
        return self.inited is not None

    def init(self, address: str | None = None) -> None:
        self.inited = address or "local"

    def remote(self, num_cpus: float = 1) -> Any:
        def wrap(fn: Any) -> Any:
            ray = self

            class Task:
                @staticmethod
                def remote(*args: Any) -> Any:
                    ray.calls.append((num_cpus, args[1], args[3]))
                    return fn(*args)
            return Task
        return wrap

    def get(self, refs: list[Any]) -> list[Any]:
        return refs


def test_ray_dispatch_runs_each_grid_point_as_a_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeRay()
    monkeypatch.setitem(sys.modules, "ray", fake)
    res = sweep("qt_image", ["mnist_qt16"], [3, 4], [*TINY, "models=qt"], out=tmp_path, use_ray=True,
                address="ray://head:10001", cpus_per_run=2)
    assert fake.inited == "ray://head:10001" and fake.calls == [(2, "mnist_qt16", 3), (2, "mnist_qt16", 4)]
    assert [(r["model"], r["seeds"]) for r in res.rows] == [("QT-16 ry_cnot", [3, 4])] and not res.failures
    assert json.loads((res.sweep_dir / "sweep.json").read_text())["ray"] is True


def test_sweep_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r'^--ray needs Ray: pip install "qtrain\[dist\]"$'):
        sweep("qt_image", ["mnist_qt16"], [0], TINY, out=tmp_path, use_ray=True)
    with pytest.raises(ValueError, match=r"sweep of 'qt_image' not started, 2 preset\(s\) do not build:\n"
                                         r"preset 'mnist_qt17': preset='mnist_qt17' is not a preset .*\n"
                                         r"preset 'nope': "):
        sweep("qt_image", ["mnist_qt16", "mnist_qt17", "nope"], [0], out=tmp_path)
    assert main(["sweep", "qt_image", "--presets", "mnist_qt16", "--seeds", "0,,1", "--out", str(tmp_path)]) == 2
    assert "--seeds='0,,1' must be a comma-separated list without empty items" in capsys.readouterr().err
    assert main(["sweep", "qt_image", "--presets", "mnist_qt16", "--address", "x:1", "--out", str(tmp_path)]) == 2
    assert "--address x:1 is a Ray cluster address; add --ray to use it" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("sweep__")] == [
        p.name for p in tmp_path.iterdir() if (p / "results.md").is_file()]  # nothing half-made by the failures
    assert parse_list("0, 1,2", int, "--seeds") == [0, 1, 2]
    with pytest.raises(ValueError, match=r"^--seeds='0,a': every item must be int \(e\.g\. 0,1,2\)$"):
        parse_list("0,a", int, "--seeds")


def test_sweep_over_set_values_with_two_jobs_writes_a_folder_per_point_and_the_table(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, text = cli("sweep", "qt_image", "--presets", "mnist_qt16", "--seeds", "0,1", "--out", str(tmp_path),
                   "--set", "lr=1e-3,1e-2", "--jobs", "2", *[a for s in [*TINY, "models=qt"] for a in ("--set", s)])
    assert rc == 0
    (folder,) = tmp_path.iterdir()
    runs = sorted(p for p in folder.iterdir() if p.is_dir())
    assert [p.name.split("__2")[0] for p in runs] == [
        "qt_image__mnist_qt16-lr=1e-2__s0", "qt_image__mnist_qt16-lr=1e-2__s1",
        "qt_image__mnist_qt16-lr=1e-3__s0", "qt_image__mnist_qt16-lr=1e-3__s1"]
    lrs = {p.name.split("__")[1]: json.loads((p / "summary.json").read_text())["config"]["lr"] for p in runs}
    assert lrs == {"mnist_qt16-lr=1e-2": 0.01, "mnist_qt16-lr=1e-3": 0.001}
    envs = [json.loads((p / "run.json").read_text())["environment"] for p in runs]
    assert len({e["pid"] for e in envs}) == 2 and os.getpid() not in {e["pid"] for e in envs}  # two workers
    assert {e["threads"]["torch_threads"] for e in envs} == {1}
    info = json.loads((folder / "sweep.json").read_text())
    assert (info["grid"], info["overrides"], info["jobs"]) == ({"lr": ["1e-3", "1e-2"]}, [*TINY, "models=qt"], 2)
    assert sorted((r["point"], r["seed"]) for r in info["runs"]) == [("lr=1e-2", 0), ("lr=1e-2", 1),
                                                                    ("lr=1e-3", 0), ("lr=1e-3", 1)]
    with (folder / "results.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["preset"], r["point"], r["model"], r["n"]) for r in rows] == [
        ("mnist_qt16", "lr=1e-3", "QT-16 ry_cnot", "2"), ("mnist_qt16", "lr=1e-2", "QT-16 ry_cnot", "2")]
    for row in rows:
        summaries = [json.loads((p / "summary.json").read_text()) for p in runs]
        accs = [s["table"][0]["test %"] for s in summaries if row["point"] in s["overrides"]]
        assert len(accs) == 2
        assert float(row["test %__mean"]) == pytest.approx(statistics.mean(accs))
    md = (folder / "results.md").read_text()
    assert "--set lr=1e-3,1e-2 --jobs 2`" in md and "| mnist_qt16 | lr=1e-2 | QT-16 ry_cnot | 2 |" in md
    progress = capsys.readouterr().err.splitlines()
    assert len(progress) == 4 and [line.split("]")[0] for line in progress] == ["[1/4", "[2/4", "[3/4", "[4/4"]
    assert all(re.search(r" \d+/4 runs, \S+ elapsed, ETA \S+$", line) for line in progress)
    assert progress[-1].endswith("ETA 0s") and f"sweep folder: {folder}" in text


def test_grid_expansion_keeps_list_values_and_refuses_bad_grids() -> None:
    fixed, axes = expand_grid("qt_image", ["loggers=csv,tensorboard", "mapping_hidden=[4,20,4],[8, 8]",
                                           "bits=01,pm1", "epochs=2"])
    assert fixed == ["loggers=csv,tensorboard", "epochs=2"]
    assert axes == [("mapping_hidden", ["[4,20,4]", "[8, 8]"]), ("bits", ["01", "pm1"])]
    assert [p.label for p in grid_points(axes)] == [
        "mapping_hidden=[4,20,4],bits=01", "mapping_hidden=[4,20,4],bits=pm1", "mapping_hidden=[8, 8],bits=01",
        "mapping_hidden=[8, 8],bits=pm1"]
    assert grid_points([]) == [GridPoint(())]
    with pytest.raises(ValueError, match=r"--set 'lr=1e-3,' has an empty value; grid values are comma-separated"):
        expand_grid("qt_image", ["lr=1e-3,"])
    with pytest.raises(ValueError, match=r"--set lr=\.\.\. gives grid values twice"):
        expand_grid("qt_image", ["lr=1,2", "lr=3,4"])
    with pytest.raises(ValueError, match=r"jobs=0 must be a positive integer"):
        sweep("qt_image", ["mnist_qt16"], [0], TINY, jobs=0)
    with pytest.raises(ValueError, match=r"(?s)\(preset, grid point\) combination\(s\) do not build:\n"
                                         r"preset 'mnist_qt16' with lr=-1: .*lr=-1\.0 is out of range"):
        sweep("qt_image", ["mnist_qt16"], [0], [*TINY, "lr=1e-3,-1"])
