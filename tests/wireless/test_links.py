"""Differentiable AWGN / Rayleigh links: measured noise power at the set SNR, equalisers, gradients."""
from __future__ import annotations

import pytest
import torch

from qtrain.wireless.links import Link, from_symbols, noise_power, power_normalize, to_symbols


@pytest.mark.parametrize("channel", ["awgn", "rayleigh"])
@pytest.mark.parametrize("snr_db", [0.0, 7.0, 20.0])
def test_measured_noise_power_is_within_2_percent_of_the_set_snr(channel: str, snr_db: float) -> None:
    gen = torch.Generator().manual_seed(11)
    link = Link(channel, snr_db)
    s = power_normalize(torch.complex(torch.randn(400, 500, generator=gen), torch.randn(400, 500, generator=gen)))
    tx = link.transmit(s, generator=gen)
    signal = float((tx.h * tx.s).abs().square().mean())
    noise = float((tx.y - tx.h * tx.s).abs().square().mean())
    assert signal == pytest.approx(1.0, rel=0.02)  # unit power (on average over the fading)
    assert noise == pytest.approx(float(noise_power(snr_db)), rel=0.02)
    assert signal / noise == pytest.approx(10 ** (snr_db / 10), rel=0.02)


def test_per_sample_snr_sets_each_sample_noise() -> None:
    gen = torch.Generator().manual_seed(12)
    snr = torch.tensor([0.0, 10.0, 20.0])
    s = power_normalize(torch.ones(3, 100_000, dtype=torch.complex64))
    tx = Link("awgn").transmit(s, snr, generator=gen)
    measured = (tx.y - tx.s).abs().square().mean(-1)
    torch.testing.assert_close(measured, torch.tensor([1.0, 0.1, 0.01]), rtol=0.02, atol=0)


def test_symbols_power_normalisation_and_round_trip() -> None:
    z = torch.tensor([[3.0, 4.0, 0.0, 0.0, 1.0]])
    s = to_symbols(z)
    assert s.shape == (1, 3) and complex(s[0, 0]) == 3 + 4j and complex(s[0, 2]) == 1 + 0j
    torch.testing.assert_close(from_symbols(s, 5), z)
    p = power_normalize(s)
    assert float(p.abs().square().mean()) == pytest.approx(1.0, rel=1e-6)


def test_rayleigh_equalisers_undo_the_fading_at_high_snr() -> None:
    gen = torch.Generator().manual_seed(13)
    z = torch.randn(64, 8, generator=gen)
    ref = from_symbols(power_normalize(to_symbols(z)), 8)
    for eq in ("zf", "mmse"):
        out = Link("rayleigh", 60.0, equalizer=eq)(z, generator=torch.Generator().manual_seed(0))
        assert float((out - ref).abs().median()) < 1e-2
    # at low SNR the MMSE estimate is shrunk: lower error than ZF
    zf = Link("rayleigh", 0.0, "zf")(z, generator=torch.Generator().manual_seed(1))
    mmse = Link("rayleigh", 0.0, "mmse")(z, generator=torch.Generator().manual_seed(1))
    assert float((mmse - ref).square().mean()) < float((zf - ref).square().mean())


def test_gradients_flow_through_the_channel() -> None:
    z = torch.randn(4, 6, requires_grad=True)
    Link("rayleigh", 10.0)(z, generator=torch.Generator().manual_seed(0)).square().sum().backward()
    assert z.grad is not None and bool(torch.isfinite(z.grad).all()) and float(z.grad.abs().sum()) > 0


def test_bad_options_raise() -> None:
    with pytest.raises(ValueError, match=r"channel='rician' is not supported; use one of \['awgn', 'rayleigh'\]"):
        Link("rician")
    with pytest.raises(ValueError, match=r"snr_db=nan must be finite"):
        Link("awgn", float("nan"))
    with pytest.raises(ValueError, match="Link input must be a real tensor"):
        Link()(torch.ones(2, 2, dtype=torch.complex64))
