"""EMA of the weights and the warmup + cosine schedule: exact values, checkpoint round trips, errors."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from qtrain.train import EMA, WarmupCosine, warmup_cosine


def _linear(seed: int = 0) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(3, 2)


def test_ema_average_is_the_closed_form() -> None:
    model = _linear()
    w0 = model.weight.detach().clone()
    ema = EMA(model, decay=0.5, warmup=False)
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update(model)  # s = 0.5 w0 + 0.5 (w0 + 1)
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update(model)  # s = 0.5 (w0 + 0.5) + 0.5 (w0 + 2)
    torch.testing.assert_close(ema.shadow[ema.names.index("weight")], w0 + 1.25, rtol=0, atol=1e-6)
    assert ema.updates == 2


def test_ema_warmup_decay_ramps_to_the_target() -> None:
    ema = EMA(_linear(), decay=0.99)
    decays = []
    for _ in range(3):
        decays.append(ema.current_decay())
        ema.updates += 1
    assert decays == pytest.approx([2 / 11, 3 / 12, 4 / 13])
    ema.updates = 10_000
    assert ema.current_decay() == 0.99


def test_ema_applied_swaps_in_and_restores_and_state_round_trips() -> None:
    model = _linear()
    trained = model.weight.detach().clone()
    ema = EMA(model, decay=0.9, warmup=False)
    with torch.no_grad():
        model.weight.mul_(3.0)
    ema.update(model)
    averaged = ema.shadow[ema.names.index("weight")].clone()
    torch.testing.assert_close(averaged, 0.9 * trained + 0.1 * 3 * trained)
    with ema.applied(model):
        assert torch.equal(model.weight, averaged)
    assert torch.equal(model.weight, 3 * trained)
    assert torch.equal(ema.model_state_dict(model)["weight"], averaged)
    other = EMA(_linear(1), decay=0.5)
    other.load_state_dict(ema.state_dict())
    assert (other.decay, other.warmup, other.updates) == (0.9, False, 1)
    assert torch.equal(other.shadow[other.names.index("weight")], averaged)
    ema.copy_to(model)
    assert torch.equal(model.weight, averaged)


def test_ema_errors() -> None:
    with pytest.raises(ValueError, match=r"ema decay=1.0 must be in \[0, 1\) \(e.g. 0.999"):
        EMA(_linear(), decay=1.0)
    ema = EMA(_linear(), decay=0.5)
    with pytest.raises(ValueError, match=r"model has no parameters \['weight', 'bias'\]; the EMA was made for another"):
        ema.update(nn.Sequential(nn.Linear(3, 2)))
    with pytest.raises(ValueError, match=r"EMA checkpoint averages \['0.weight', '0.bias'\] but the model has"):
        ema.load_state_dict(EMA(nn.Sequential(nn.Linear(3, 2)), 0.5).state_dict())


def test_warmup_cosine_factors() -> None:
    f = WarmupCosine(total_steps=10, warmup_steps=2, min_ratio=0.1)
    got = [f(k) for k in range(12)]
    want = [0.5, 1.0] + [0.1 + 0.45 * (1 + math.cos(math.pi * (k - 2) / 8)) for k in range(2, 10)] + [0.1, 0.1]
    assert got == pytest.approx(want, abs=1e-12)
    assert WarmupCosine(4)(0) == 1.0 and WarmupCosine(4)(4) == 0.0


def test_warmup_cosine_scheduler_sets_every_group_and_resumes() -> None:
    model = _linear()
    opt = torch.optim.Adam([{"params": [model.weight], "lr": 1.0}, {"params": [model.bias], "lr": 0.1}])
    sched = warmup_cosine(opt, total_steps=8, warmup_steps=4, min_ratio=0.0)
    lrs = []
    for _ in range(6):
        lrs.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    c = 0.5 * (1 + math.cos(math.pi / 4))  # step 5: a quarter into the cosine
    want = [0.25, 0.025, 0.5, 0.05, 0.75, 0.075, 1.0, 0.1, 1.0, 0.1, c, 0.1 * c]
    assert [lr for pair in lrs for lr in pair] == pytest.approx(want, abs=1e-12)
    state = sched.state_dict()
    opt2 = torch.optim.Adam([{"params": [model.weight], "lr": 1.0}, {"params": [model.bias], "lr": 0.1}])
    sched2 = warmup_cosine(opt2, total_steps=8, warmup_steps=4)
    sched2.load_state_dict(state)
    opt2.load_state_dict(opt.state_dict())
    opt.step(), sched.step(), opt2.step(), sched2.step()
    assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in opt2.param_groups]


@pytest.mark.parametrize("kwargs,match", [
    ({"total_steps": 0}, r"total_steps=0 must be an integer >= 1"),
    ({"total_steps": 5, "warmup_steps": 6}, r"warmup_steps=6 must be an integer in \[0, total_steps=5\]"),
    ({"total_steps": 5, "min_ratio": 1.5}, r"min_ratio=1.5 must be in \[0, 1\]"),
    ({"total_steps": 5, "min_ratio": float("nan")}, r"min_ratio=nan must be in \[0, 1\]"),
])
def test_warmup_cosine_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        WarmupCosine(**kwargs)
