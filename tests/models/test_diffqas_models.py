"""The DiffQAS-QT targets: MLP sizes and the one-bias-per-gate LSTM against torch.nn.LSTM."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from qtrain.models import MLP, GateBiasLSTM, SeriesLSTM, actor_mlp, critic_mlp, image_mlp


def test_parameter_counts_of_the_paper() -> None:
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert (count(image_mlp()), count(SeriesLSTM()), count(actor_mlp()), count(critic_mlp())) == (
        108_866, 1_781, 6_023, 5_825)
    assert image_mlp()(torch.zeros(3, 1, 28, 28)).shape == (3, 2) and actor_mlp()(torch.zeros(2, 147)).shape == (2, 7)


def test_lstm_equals_torch_lstm_with_one_bias(single_thread: None) -> None:
    torch.manual_seed(0)
    ours = GateBiasLSTM(3, 5)
    ref = nn.LSTM(3, 5, batch_first=True)
    w = ours.gates.weight.detach()
    with torch.no_grad():  # [W_ih | W_hh] per gate; torch.nn.LSTM has the same gate order (i, f, g, o)
        ref.weight_ih_l0.copy_(w[:, :3])
        ref.weight_hh_l0.copy_(w[:, 3:])
        ref.bias_ih_l0.copy_(ours.gates.bias)
        ref.bias_hh_l0.zero_()
    x = torch.randn(4, 6, 3)
    torch.testing.assert_close(ours(x), ref(x)[0], rtol=1e-6, atol=1e-6)
    assert SeriesLSTM()(torch.zeros(2, 4)).shape == (2, 1)


def test_model_errors() -> None:
    with pytest.raises(ValueError, match=r"sizes=\(784,\) must be at least two positive integers"):
        MLP((784,))
    with pytest.raises(ValueError, match="activation='gelu' is not supported; use one of"):
        MLP((2, 2), activation="gelu")
    with pytest.raises(ValueError, match="hidden_size=0 must be a positive integer"):
        GateBiasLSTM(1, 0)
    with pytest.raises(ValueError, match=r"x must have shape \(batch, time, 1\), got \(2, 4, 3\)"):
        GateBiasLSTM(1, 4)(torch.zeros(2, 4, 3))
