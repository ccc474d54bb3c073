"""The non-finite guard of TrainLoop: a nan/inf loss (or weight) stops the run and the last finite checkpoint stays."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from qtrain.cli import main
from qtrain.train import EMA, NonFiniteLossError, RunContext, RunDir, ShuffledBatches, TrainLoop, load_checkpoint


def _loop(tmp_path: Path, ema: bool = False) -> TrainLoop:
    torch.manual_seed(0)
    model = nn.Linear(2, 2)
    data = TensorDataset(torch.randn(8, 2), torch.randint(0, 2, (8,)))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    ctx = RunContext(RunDir.create(tmp_path, "t", "p", 0, now=0), quiet=True)
    return TrainLoop(ctx, "lin", model, opt, ShuffledBatches(data, 4, seed=0), epochs=3,
                     ema=EMA(model, 0.9) if ema else None)


def _train_step(loop: TrainLoop, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    loss = nn.functional.cross_entropy(loop.model(x), y)
    loop.optimizer.zero_grad()
    loss.backward()
    loop.optimizer.step()
    return loss.detach()


def test_nan_loss_stops_before_saving_and_keeps_the_last_finite_checkpoint(tmp_path: Path) -> None:
    loop = _loop(tmp_path)
    snapshot: dict[str, torch.Tensor] = {}
    with pytest.raises(NonFiniteLossError) as exc:
        for epoch in loop.epochs():
            for step, (x, y) in enumerate(loop.batches()):
                loss = _train_step(loop, x, y)
                loop.step_done(float("nan") if (epoch, step) == (2, 1) else loss, 0, len(y))
            loop.end_epoch({})
            snapshot = {k: v.clone() for k, v in loop.model.state_dict().items()}
    path = loop.ckpt_dir / "last.pt"
    assert str(exc.value) == (
        f"model 'lin': the training loss is nan at step 6 (epoch 3, lr 0.1); training stopped and nothing was saved "
        f"from this step on; the last finite checkpoint '{path}' (step 4) is kept; fix: lower the learning rate or "
        "clip the gradients")
    assert (exc.value.tag, exc.value.step, exc.value.checkpoint) == ("lin", 6, path)
    assert isinstance(exc.value, ValueError)  # the CLI prints it as one line
    ckpt = load_checkpoint(path)
    assert (ckpt["epoch"], ckpt["global_step"], ckpt["finished"]) == (2, 4, False)
    assert all(torch.equal(ckpt["model"][k], snapshot[k]) for k in snapshot)  # the end of epoch 2, not step 5
    assert [r["epoch"] for r in loop.ctx.run_dir.read_metrics()] == [1, 2]


def test_inf_loss_before_any_checkpoint_says_none_was_written(tmp_path: Path) -> None:
    loop = _loop(tmp_path)
    next(loop.epochs())
    next(loop.batches())
    with pytest.raises(NonFiniteLossError, match=r"the training loss is inf at step 1 \(epoch 1, lr 0.1\); .*; "
                                                 r"no checkpoint had been written yet; fix: lower the"):
        loop.step_done(torch.tensor(float("inf")), 0, 4)
    assert not loop.ckpt_dir.exists() or list(loop.ckpt_dir.iterdir()) == []


def test_nonfinite_weights_are_never_checkpointed(tmp_path: Path) -> None:
    loop = _loop(tmp_path, ema=True)
    for _epoch in loop.epochs():
        for x, y in loop.batches():
            loop.step_done(_train_step(loop, x, y), 0, len(y))
        if loop.epoch == 1:  # the second epoch's update overflows a weight, its loss is still finite
            with torch.no_grad():
                loop.model.bias[1] = float("inf")
        before = (loop.ckpt_dir / "last.pt").read_bytes() if loop.epoch else None
        if loop.epoch == 1:
            with pytest.raises(NonFiniteLossError, match=r"^model 'lin': weight 'bias' is nan at step 4 \(epoch 2, "
                                                         r"lr 0.1\); .* \(step 2\) is kept; fix: lower"):
                loop.end_epoch({})
            assert (loop.ckpt_dir / "last.pt").read_bytes() == before
            return
        loop.end_epoch({})
    raise AssertionError("the guard did not fire")


def test_cli_run_with_a_huge_lr_stops_in_one_line_and_keeps_step_1(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 13: ``--set lr=1e9 --set classical_lr=1e9`` used to exit 0 with nan weights everywhere."""
    common = ["--preset", "mnist5k_demo", "--set", "lr=1e9", "--set", "classical_lr=1e9", "--set", "epochs=3",
              "--set", "ckpt_every=1", "--set", "n_train=256", "--set", "plots=false", "--set", "num_threads=1",
              "--quiet"]
    assert main(["run", "qt_image", *common, "--out", str(tmp_path / "nan")]) == 2
    err = capsys.readouterr().err
    (run,) = (tmp_path / "nan").iterdir()
    ckpt_path = run / "checkpoints" / "classical" / "last.pt"
    assert err == (
        "qtrain run: error: model 'classical': the training loss is nan at step 2 (epoch 1, lr 1e+09); "
        f"training stopped and nothing was saved from this step on; the last finite checkpoint '{ckpt_path}' (step 1) "
        "is kept; fix: lower classical_lr (now 1e+09, e.g. --set classical_lr=1e+07) or clip the gradients harder "
        "(grad_clip now 1, e.g. --set grad_clip=0.1)\n")
    files = sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file())
    # no model.safetensors, no summary.json: only what existed before the step that diverged
    assert files == [".lock", "checkpoints/classical/last.pt", "config.yaml", "run.json"]
    kept = load_checkpoint(ckpt_path)
    assert kept["global_step"] == 1 and all(bool(torch.isfinite(v).all()) for v in kept["model"].values())
    # the kept checkpoint is exactly the one a run stopped after that step writes
    assert main(["run", "qt_image", *common, "--set", "max_steps=1", "--set", "models=classical",
                 "--out", str(tmp_path / "one")]) == 0
    (one,) = (tmp_path / "one").iterdir()
    same = load_checkpoint(one / "checkpoints" / "classical" / "last.pt")["model"]
    assert all(torch.equal(kept["model"][k], same[k]) for k in same)
    assert re.search(r"step 1", capsys.readouterr().err) is None
