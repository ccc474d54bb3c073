"""The V2X model-transfer MDP: seeded resets and every documented rule of its dynamics."""
from __future__ import annotations

import math

import numpy as np
import pytest

from qtrain.envs.v2x_transfer import V2XTransferEnv


def _at(env: V2XTransferEnv, snr: float, shift: float, acc: float) -> V2XTransferEnv:
    env.reset(seed=0)
    env.snr_db, env.shift, env.accuracy = snr, shift, acc
    return env


def test_reset_is_seeded_and_observations_are_normalised() -> None:
    a, b = V2XTransferEnv(), V2XTransferEnv()
    oa, ob = a.reset(seed=5)[0], b.reset(seed=5)[0]
    np.testing.assert_array_equal(oa, ob)
    assert not np.array_equal(oa, b.reset(seed=6)[0])
    env = _at(V2XTransferEnv(), 10.0, 0.2, 0.8)
    np.testing.assert_allclose(env._obs(), [0.5, 0.2, 0.8], rtol=1e-6)  # c = (10 + 10) / 40


@pytest.mark.parametrize("snr", [-10.0, 0.0, 10.0, 25.0])
def test_action_effects_latency_and_reward_follow_the_documented_rules(snr: float) -> None:
    d = V2XTransferEnv().dyn
    rate = 10.0 * math.log2(1 + 10 ** (snr / 10))
    expect = {  # action -> (shift, accuracy, latency) right after the action
        0: (0.7 * 0.4, 0.6 + 0.3 * (0.88 - 0.3 * 0.7 * 0.4 - 0.6), 1.0),
        1: (0.05, 0.95 - 0.5 * 0.05, min(40.0 / rate, 5.0)),
        2: (0.7 * 0.4, 0.6 + 0.5 * (0.82 - 0.6), min(10.0 / rate, 5.0)),
    }
    for action, (shift, acc, lat) in expect.items():
        env = _at(V2XTransferEnv(), snr, 0.4, 0.6)
        _obs, reward, term, trunc, info = env.step(action)
        assert (info["shift"], info["accuracy"], info["latency_s"]) == pytest.approx((shift, acc, lat), abs=1e-12)
        assert info["rate_mbps"] == pytest.approx(rate) and reward == pytest.approx(acc - d.latency_weight * lat)
        assert not term and not trunc


def test_drift_lowers_accuracy_by_half_the_shift_increase() -> None:
    env = V2XTransferEnv()
    env.reset(seed=3)
    for _ in range(200):
        _, _, _, _, info = env.step(2)
        grow = env.shift - info["shift"]
        assert 0.0 <= grow <= 0.03 + 0.4 + 1e-12
        if env.shift < 1.0 and env.accuracy > 0.0:
            assert info["accuracy"] - env.accuracy == pytest.approx(0.5 * grow, abs=1e-12)


def test_channel_is_the_documented_gauss_markov_process() -> None:
    env = V2XTransferEnv()
    env.reset(seed=11)
    snr = []
    for _ in range(20_000):
        env.step(0)
        snr.append(env.snr_db)
        if env.t >= env.dyn.horizon:
            env.t = 0  # keep one long trajectory of the channel
    s = np.array(snr)
    assert s.mean() == pytest.approx(10.0, abs=0.6)
    assert s.std() == pytest.approx(8.0, rel=0.05)
    assert np.corrcoef(s[:-1], s[1:])[0, 1] == pytest.approx(0.9, abs=0.01)


def test_episodes_are_truncated_at_the_horizon_and_bad_actions_raise() -> None:
    env = V2XTransferEnv()
    env.reset(seed=0)
    flags = [env.step(1)[3] for _ in range(50)]
    assert flags == [False] * 49 + [True]
    with pytest.raises(ValueError, match=r"action=3 is not one of 0 \(fine_tune\), 1 \(pull_rsu\), 2 \(share\)"):
        env.step(3)
