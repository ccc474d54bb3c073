"""Data-parallel training: torchrun's variables, sharded batches, and 2 gloo processes equal to 1 process.

The equality tests run ``qtrain run ... --nproc 2`` for real (two spawned processes joined by gloo on
the CPU) and compare the final checkpoint with a one-process run on the same global batches.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch.utils.data import TensorDataset

from helpers import cli
from qtrain import recipes
from qtrain.train import RunContext, RunDir, ShuffledBatches, TrainLoop, load_checkpoint
from qtrain.train.distributed import DistInfo, dist_from_env, launch

# center=false: with centring, the mapping's output biases get an analytically zero gradient, and Adam
# turns its rounding noise (1e-9, different for a 2-way split) into full lr-sized steps
QT_TINY = ["models=qt", "max_steps=3", "n_train=250", "n_val=0", "n_test=50", "batch_size=50", "blocks=2",
           "center=false", "num_threads=1", "n_eval_train=0", "plots=false", "select=last"]
# the classical twin: the QCNN's circuit has weights whose gradient is analytically zero, which Adam turns
# from rounding noise into lr-sized steps (the same effect as above), so only the twin compares to 1e-6
QCNN_TINY = ["models=classical", "max_steps=3", "batch_size=33", "num_threads=1", "epochs=1"]


def _weights(run_dir: Path, tag: str) -> dict[str, torch.Tensor]:
    return load_checkpoint(run_dir / "checkpoints" / tag / "last.pt")["model"]


def _max_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a if a[k].is_floating_point())


def _records(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


# ----------------------------------------------------------------------------- environment and shards
def test_dist_from_env_reads_torchrun_variables() -> None:
    assert dist_from_env({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1"}) == DistInfo(3, 4, 1)
    assert dist_from_env({"WORLD_SIZE": "1", "RANK": "0"}) is None
    assert dist_from_env({}) is None
    with pytest.raises(ValueError, match=r"RANK='4' must be in \[0, 4\) for WORLD_SIZE=4"):
        dist_from_env({"WORLD_SIZE": "4", "RANK": "4"})
    with pytest.raises(ValueError, match=r"environment variable WORLD_SIZE='two' is not an integer"):
        dist_from_env({"WORLD_SIZE": "two"})


def test_shards_partition_every_global_batch() -> None:
    ds = TensorDataset(torch.arange(23))
    whole = [b[0].tolist() for b in ShuffledBatches(ds, 10, seed=5).epoch()]
    parts = []
    for rank in range(3):
        loader = ShuffledBatches(ds, 10, seed=5)
        loader.shard(rank, 3)
        parts.append([b[0].tolist() for b in loader.epoch()])
    for step, batch in enumerate(whole):
        assert sum((p[step] for p in parts), []) == batch  # rank order concatenates to the global batch
    assert [len(p[2]) for p in parts] == [1, 1, 1]  # the last global batch holds 3 samples
    assert loader.global_batch_size(2) == 3 and loader.smallest_batch == 3
    with pytest.raises(ValueError, match=r"rank=3 must be in \[0, world_size=3\)"):
        loader.shard(3, 3)


def test_a_batch_smaller_than_the_world_is_refused(tmp_path: Path) -> None:
    ctx = RunContext(RunDir(tmp_path), quiet=True, dist=DistInfo(0, 4))
    model = torch.nn.Linear(2, 2)
    loader = ShuffledBatches(TensorDataset(torch.zeros(11, 2)), 4)  # batches 4, 4, 3
    with pytest.raises(ValueError, match=r"nproc=4 splits every batch across 4 processes but the smallest batch of "
                                         r"'m' has 3 sample\(s\) \(batch_size=4, 11 samples\)"):
        TrainLoop(ctx, "m", model, torch.optim.SGD(model.parameters(), lr=0.1), loader, 1)


# ----------------------------------------------------------------------------- 2 processes == 1 process
def _ranks_run_both(out: str) -> list[str]:
    """One rank (of 2, spawned by :func:`launch`): qt_image through the CLI, then v2x_qcnn, in one gloo world."""
    from qtrain.cli import main
    from qtrain.train.distributed import dist_from_env, init_distributed

    info = dist_from_env()
    assert info is not None
    init_distributed(info, torch.device("cpu"))  # the runs join this group (one spawn for both recipes)
    sets = sum((["--set", s] for s in QT_TINY), [])
    assert main(["run", "qt_image", "--preset", "mnist_qt16", *sets, "--out", f"{out}/qt", "--quiet"]) == 0
    res = recipes.run("v2x_qcnn", "smoke", QCNN_TINY, out=f"{out}/qcnn", quiet=True)
    return [str(next(Path(out, "qt").iterdir())), str(res.run_dir)]


def test_two_gloo_processes_equal_one_process_on_the_global_batch(tmp_path: Path) -> None:
    qt_one = recipes.run("qt_image", "mnist_qt16", QT_TINY, out=tmp_path / "one", quiet=True)
    qcnn_one = recipes.run("v2x_qcnn", "smoke", QCNN_TINY, out=tmp_path / "one", quiet=True)
    qt_two, qcnn_two = map(Path, launch(_ranks_run_both, 2, {"out": str(tmp_path / "two")}))
    assert _max_diff(_weights(qt_one.run_dir, "qt"), _weights(qt_two, "qt")) < 1e-6
    assert _max_diff(_weights(qcnn_one.run_dir, "classical"), _weights(qcnn_two, "classical")) < 1e-6
    # bytes per step: the float32 gradients of the trainable parameters only (for QT: QNN + mapping)
    (record,) = _records(qt_two)
    assert record["world_size"] == 2
    params = qt_one.summary["models"]["qt"]["params"]
    assert (params["qnn"], params["mapping"], params["trainable"]) == (26, 249, 275)  # 13 qubits x 2 blocks of Ry
    assert record["allreduce_bytes_per_step"] == 4 * 275  # not the 6,690 generated weights
    assert record["train_loss"] == pytest.approx(_records(qt_one.run_dir)[0]["train_loss"], rel=1e-6)
    qcnn_record = _records(qcnn_two)[0]
    assert qcnn_record["allreduce_bytes_per_step"] == 4 * qcnn_one.summary["models"]["classical"]["params"]["trainable"]
    info = json.loads((qt_two / "run.json").read_text())
    assert info["compute"] == {"device": "cpu", "precision": "float32", "nproc": 2}
    assert [p.name for p in (tmp_path / "two" / "qt").iterdir()] == [qt_two.name]  # rank 1 wrote no folder


@pytest.mark.slow
def test_cli_nproc_2_equals_one_process(tmp_path: Path) -> None:
    one = recipes.run("qt_image", "mnist_qt16", QT_TINY, out=tmp_path / "one", quiet=True)
    rc, text = cli("run", "qt_image", "--preset", "mnist_qt16", *sum((["--set", s] for s in QT_TINY), []),
                   "--nproc", "2", "--out", str(tmp_path / "two"), "--quiet")
    assert rc == 0, text
    (two_dir,) = (tmp_path / "two").iterdir()
    assert _max_diff(_weights(one.run_dir, "qt"), _weights(two_dir, "qt")) < 1e-6


def test_nproc_is_checked_before_any_process_starts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _ = cli("run", "qt_image", "--preset", "mnist_qt16", "--set", "lr=-1", "--nproc", "2", "--out", str(tmp_path))
    assert rc == 2 and "lr=-1" in capsys.readouterr().err
    rc, _ = cli("run", "qt_image", "--preset", "mnist_qt16", "--nproc", "0", "--out", str(tmp_path))
    assert rc == 2
    assert capsys.readouterr().err == ("qtrain run: error: nproc=0 must be a positive integer (processes training "
                                       "data-parallel)\n")
    assert not tmp_path.exists() or list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_run_stopped_in_one_process_resumes_on_two(tmp_path: Path) -> None:
    sets = [*QT_TINY, "max_steps=4", "ckpt_every=1"]
    whole = recipes.run("qt_image", "mnist_qt16", sets, out=tmp_path / "whole", quiet=True)

    class Stop(Exception):
        pass

    def stop(tag: str, step: int, loss: float) -> None:
        if step == 2:
            raise Stop

    with pytest.raises(Stop):
        recipes.run("qt_image", "mnist_qt16", sets, out=tmp_path / "cut", quiet=True, on_step=stop)
    (cut,) = (tmp_path / "cut").iterdir()
    resumed = recipes.run(None, resume=cut, quiet=True, nproc=2)  # rank 1 starts from a copy of the checkpoints
    assert _max_diff(_weights(whole.run_dir, "qt"), _weights(resumed.run_dir, "qt")) < 1e-6
    assert json.loads((cut / "run.json").read_text())["compute"]["nproc"] == 2
