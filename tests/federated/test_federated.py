"""Federated Quantum-Train on Flower: Dirichlet shards, exact bytes, dropout/stragglers, 1 client = centralised."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from qtrain.config import build_config
from qtrain.federated.flower import InProcessProxy, LocalTrainer, decode, encode, payload_bytes, run_inprocess
from qtrain.federated.partition import dirichlet_split
from qtrain.qt import count_parameters
from qtrain.recipes.v2x.v2x_federated import (FederatedConfig, FederatedTask, build_model, client_seed,
                                              exchanged_parameters, run_federated)


def _cfg(**kw: object) -> FederatedConfig:
    base = {"n_clients": 2, "rounds": 2, "dropout": 0.0, "stragglers": 0, "plots": False}
    return build_config(FederatedConfig, {**base, **kw})


def test_dirichlet_split_covers_every_sample_once_and_skews_with_small_alpha() -> None:
    y = torch.arange(10).repeat(100)
    shards = dirichlet_split(y, 5, alpha=0.1, seed=0)
    allidx = torch.cat(shards).sort().values
    assert torch.equal(allidx, torch.arange(1000))
    assert [s.tolist() for s in shards] == [s.tolist() for s in dirichlet_split(y, 5, 0.1, seed=0)]
    classes = lambda a: np.mean([len(torch.unique(y[s])) for s in dirichlet_split(y, 5, a, seed=1)])  # noqa: E731
    assert classes(0.1) < 6 < classes(100.0) == 10
    with pytest.raises(ValueError, match=r"alpha=0 must be a finite number > 0"):
        dirichlet_split(y, 5, 0)
    with pytest.raises(ValueError, match=r"n_clients=200 x min_size=10 exceeds the 1000 samples"):
        dirichlet_split(y, 200, 1.0, min_size=10)


def test_raw_float32_messages_round_trip_with_4_bytes_per_value() -> None:
    ts = [torch.randn(3, 4, generator=torch.Generator().manual_seed(0)), torch.tensor([1.5, -2.0])]
    p = encode(ts)
    assert payload_bytes(p) == 4 * 14 and [len(b) for b in p.tensors] == [48, 8]
    for a, b in zip(decode(p, ts), ts):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="message holds 2 tensors but the model exchanges 1"):
        decode(p, ts[:1])
    with pytest.raises(ValueError, match=r"a tensor of 48 bytes cannot fill shape \(2, 2\)"):
        decode(encode(ts[:1]), [torch.zeros(2, 2)])


@pytest.mark.parametrize("tag,values", [("quantum", 477), ("classical", 8986)])
def test_rounds_exchange_exactly_the_generator_parameters(single_thread: None, tag: str, values: int) -> None:
    cfg = _cfg(rounds=2, n_clients=2)
    model = build_model(cfg, tag)
    s = count_parameters(model)
    assert sum(p.numel() for p in exchanged_parameters(model)) == s.trainable == values
    if tag == "quantum":
        assert (s.qnn, s.mapping, s.generated) == (14 * 16, 253, 8986)
    rounds = run_federated(cfg, tag)["rounds"]
    for r in rounds:
        assert (r["sampled"], r["results"], r["failures"]) == (2, 2, 0)
        assert r["bytes_down"] == r["bytes_up"] == 2 * values * 4  # 2 clients, float32, measured from the messages
        assert r["wire_up"] > r["bytes_up"]  # protobuf framing on top of the payload
        assert 0.0 <= r["test_acc"] <= 1.0


def test_dropout_and_straggler_updates_are_dropped_and_the_round_goes_on(single_thread: None) -> None:
    cfg = _cfg(n_clients=4, rounds=3, dropout=0.3, stragglers=1, models="classical", seed=2)
    rounds = run_federated(cfg, "classical")["rounds"]
    for r in rounds:
        dropped = {c for c in range(4) if np.random.default_rng((2, r["round"], c)).random() < 0.3}
        arrived = sorted(set(range(3)) - dropped)  # client 3 is the straggler: always past the deadline
        assert r["clients"] == arrived and r["failures"] == 4 - len(arrived)
        assert r["bytes_up"] == len(arrived) * 8986 * 4


def test_one_client_federation_equals_centralised_training(single_thread: None) -> None:
    cfg = _cfg(n_clients=1, rounds=3, local_epochs=1, models="quantum")
    fed = run_federated(cfg, "quantum")["final"]
    task = FederatedTask(cfg, "quantum")
    model = build_model(cfg, "quantum")
    params = exchanged_parameters(model)
    trainer = LocalTrainer(model, params, task.splits.train, cfg.batch_size, cfg.qt_lr, client_seed(cfg, 0))
    trainer.fit(3)
    for a, b in zip(fed, params):
        assert torch.equal(a, b.detach())


def test_inprocess_proxy_reports_a_timeout_for_a_straggler() -> None:
    cfg = _cfg(n_clients=1, models="classical")
    proxy = InProcessProxy(FederatedTask(cfg, "classical").make_client(0), slowdown=1e6, compute_s=1.0)
    strategy = FederatedTask(cfg, "classical").make_strategy()
    rounds = run_inprocess(strategy, [proxy], 1, round_timeout=1.0)
    assert (rounds[0]["results"], rounds[0]["failures"]) == (0, 1)


@pytest.mark.slow
def test_grpc_processes_match_the_inprocess_run(single_thread: None, tmp_path) -> None:
    cfg = _cfg(n_clients=2, rounds=2, models="classical", transport="grpc", round_timeout=120.0, grpc_timeout_s=240.0)
    grpc = run_federated(cfg, "classical", tmp_path)
    inproc = run_federated(build_config(FederatedConfig, {**_as_dict(cfg), "transport": "inprocess"}), "classical")
    for r in grpc["rounds"]:
        assert (r["results"], r["bytes_up"], r["bytes_down"]) == (2, 2 * 8986 * 4, 2 * 8986 * 4)
    for a, b in zip(grpc["final"], inproc["final"]):
        assert torch.equal(a, b)


def _as_dict(cfg: FederatedConfig) -> dict:
    import dataclasses

    return dataclasses.asdict(cfg)
