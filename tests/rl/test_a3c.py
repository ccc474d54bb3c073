"""A3C machinery: targets and loss, shared Adam, one model shared by worker processes, resume after a crash."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

from qtrain.models import actor_mlp, critic_mlp
from qtrain.rl import (A3CSettings, A3CTrainer, ActorCritic, SharedAdam, a3c_loss, discounted_returns,
                       encode_observation, make_env, push_and_pull)
from qtrain.train import load_checkpoint


def test_discounted_returns_and_loss_values() -> None:
    torch.testing.assert_close(discounted_returns([1.0, 0.0, 2.0], bootstrap=0.5, gamma=0.9),
                               torch.tensor([1 + 0.9 * 0.9 * (2 + 0.9 * 0.5), 0.9 * (2 + 0.45), 2.45]))
    logits = torch.tensor([[0.0, math.log(3.0)], [0.0, 0.0]], requires_grad=True)
    values = torch.tensor([[0.5], [1.0]], requires_grad=True)
    targets, actions = torch.tensor([1.0, 0.0]), torch.tensor([1, 0])
    loss = a3c_loss(logits, values, actions, targets, entropy_beta=0.1)
    h0 = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    expected = ((0.25 + 1.0) - (math.log(0.75) * 0.5 + math.log(0.5) * -1.0) - 0.1 * (h0 + math.log(2))) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    assert float(values.grad[0, 0]) == pytest.approx(-0.5) and float(values.grad[1, 0]) == pytest.approx(1.0)


def test_observation_encoding_and_env_errors() -> None:
    env = make_env("MiniGrid-Empty-5x5-v0")
    obs, _ = env.reset(seed=0)
    x = encode_observation(obs)
    assert x.shape == (147,) and x.dtype == torch.float32 and 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    np.testing.assert_allclose(x.reshape(7, 7, 3)[..., 0].numpy() * 10, obs["image"][..., 0])
    with pytest.raises(ValueError, match=r"env='CartPole-v1' is not supported; use one of \['MiniGrid-Empty-5x5-v0'"):
        make_env("CartPole-v1")
    with pytest.raises(ValueError, match=r"a MiniGrid view has shape \(7, 7, 3\), got \(7, 7\)"):
        encode_observation(np.zeros((7, 7)))


def test_shared_adam_steps_like_adam() -> None:
    torch.manual_seed(0)
    a, b = nn.Linear(4, 2), nn.Linear(4, 2)
    b.load_state_dict(a.state_dict())
    opt_a = SharedAdam(a.share_memory().parameters(), lr=1e-2, betas=(0.92, 0.999))
    opt_b = torch.optim.Adam(b.parameters(), lr=1e-2, betas=(0.92, 0.999))
    x = torch.randn(8, 4)
    for _ in range(3):
        for m, opt in ((a, opt_a), (b, opt_b)):
            opt.zero_grad()
            m(x).square().sum().backward()
            opt.step()
    torch.testing.assert_close(a.weight, b.weight)
    assert all(t.is_shared() for st in opt_a.state.values() for t in st.values())
    restored = SharedAdam(a.parameters(), lr=1e-2)
    restored.load_state_dict(opt_a.state_dict())
    assert all(t.is_shared() for st in restored.state.values() for t in st.values())


def _updater(shared: nn.Module, opt: SharedAdam, done: object) -> None:
    """Worker 0: one update of the shared model from a local copy (a fixed loss)."""
    local = ActorCritic(nn.Linear(3, 2), nn.Linear(3, 1))
    local.load_state_dict(shared.state_dict())
    obs = torch.ones(4, 3)
    push_and_pull(opt, local, shared, a3c_loss(local.actor(obs), local.critic(obs), torch.tensor([0, 1, 0, 1]),
                                               torch.ones(4)))
    done.set()  # type: ignore[attr-defined]


def _reader(shared: nn.Module, done: object, out: object) -> None:
    """Worker 1: after worker 0's update, report the shared weights it sees."""
    done.wait(60)  # type: ignore[attr-defined]
    # numpy, not tensors: a tensor would travel as a shared-memory handle that dies with this process
    out.put({k: v.numpy().copy() for k, v in shared.state_dict().items()})  # type: ignore[attr-defined]


def test_an_update_from_one_worker_is_seen_by_another() -> None:
    torch.manual_seed(0)
    shared = ActorCritic(nn.Linear(3, 2), nn.Linear(3, 1)).share_memory()
    before = {k: v.clone() for k, v in shared.state_dict().items()}
    opt = SharedAdam(shared.parameters(), lr=0.1)
    ctx = mp.get_context("spawn")
    done, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_reader, args=(shared, done, out)),
             ctx.Process(target=_updater, args=(shared, opt, done))]
    for p in procs:
        p.start()
    seen = out.get(timeout=120)
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    for k, v in shared.state_dict().items():
        torch.testing.assert_close(torch.from_numpy(seen[k]), v)  # the reader saw the updater's result
        assert float((v - before[k]).abs().max()) == pytest.approx(0.1, rel=1e-4)  # Adam's first step: lr
    assert float(opt.state[shared.actor.weight]["step"]) == 1.0  # the optimizer state is shared too


class _Crash(Exception):
    pass


def test_trainer_resumes_after_a_crash(tmp_path) -> None:
    torch.manual_seed(0)
    settings = A3CSettings(episodes=5, workers=1, ckpt_every=2, seed=3)
    path = tmp_path / "a3c.pt"

    def crash(episode: int, _ret: float) -> None:
        if episode == 3:
            raise _Crash

    model = ActorCritic(actor_mlp(hidden=4), critic_mlp(hidden=4))
    with pytest.raises(_Crash):
        A3CTrainer(model, settings, path, on_episode=crash).run()
    saved = load_checkpoint(path)
    assert len(saved["returns"]) == 3  # saved at episode 2, then again on the way out
    fresh = ActorCritic(actor_mlp(hidden=4), critic_mlp(hidden=4))
    trainer = A3CTrainer(fresh, settings, path)
    torch.testing.assert_close(fresh.state_dict(), saved["model"])
    returns = trainer.run()
    assert len(returns) == 5 and returns[:3] == saved["returns"]
    assert trainer.workers_of == [0] * 5
    assert all(0.0 <= r < 1.0 for r in returns) and len(trainer.lengths) == len(trainer.losses) == 5
    assert all(math.isfinite(v) for v in trainer.losses)


def test_trainer_rejects_bad_settings(tmp_path) -> None:
    with pytest.raises(ValueError, match="workers=0, episodes=5 and n_steps=5 must all be >= 1"):
        A3CTrainer(ActorCritic(nn.Linear(147, 7), nn.Linear(147, 1)), A3CSettings(episodes=5, workers=0),
                   tmp_path / "x.pt")


def test_trainer_calibrates_quantum_train_networks_before_sharing(tmp_path) -> None:
    from qtrain.qt import DiffQASTrain

    torch.manual_seed(0)
    model = ActorCritic(DiffQASTrain(actor_mlp(hidden=4), depth=1), DiffQASTrain(critic_mlp(hidden=4), depth=1))
    assert not bool(model.actor.generator.calibrated)
    A3CTrainer(model, A3CSettings(episodes=1), tmp_path / "a.pt")
    for part in (model.actor, model.critic):
        assert bool(part.generator.calibrated) and part.generator.scale.is_shared()
    with torch.no_grad():  # calibrated: the generated tensor has the spread of the network's own initialisation
        w = model.actor.generate()["net.0.weight"]
    assert float(w.std()) == pytest.approx(float(model.actor.target.get_buffer("net.0.weight").std()), rel=1e-4)
