"""``qtrain sweep``: a 2 presets x 2 seeds grid through the real CLI, its table, Ray dispatch, errors."""
from __future__ import annotations

import csv
import json
import statistics
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import torch
from helpers import cli

from qtrain.cli import main
from qtrain.sweep import aggregate, parse_list, sweep

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
