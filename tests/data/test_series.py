"""QLSTM time series: generators equal their reference formulas and values, windows and splits, binary subsets."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from qtrain.data.binary import binary_subset, load_binary_splits
from qtrain.data.series import (bessel_j2, damped_shm, delayed_quantum_control, load_series, make_windows,
                                minmax_scale, narma)


def test_narma_equals_the_recurrence_and_reference_values() -> None:
    for order, head in ((5, [0.196, 0.160721, 0.151083, 0.149161, 0.149648, 0.166203]),
                        (10, [0.196, 0.160721, 0.151083, 0.149161, 0.149648, 0.15093])):
        u, y = narma(order)
        np.testing.assert_allclose(y[:6], head, atol=5e-7)
        t = np.arange(300)
        u_ref = 0.1 * (np.sin(2 * np.pi * 2.11 * t / 300) * np.sin(2 * np.pi * 3.73 * t / 300)
                       * np.sin(2 * np.pi * 4.11 * t / 300) + 1)
        np.testing.assert_allclose(u, u_ref, rtol=0, atol=0)
        for k in (0, 3, order, 150, 298):  # y_{k+1} from the definition, negative indices 0
            past = sum(y[k - j] for j in range(order) if k - j >= 0)
            lag = u[k - order + 1] if k - order + 1 >= 0 else 0.0
            assert y[k + 1] == pytest.approx(0.3 * y[k] + 0.05 * y[k] * past + 1.5 * lag * u[k] + 0.1, abs=1e-15)
    np.testing.assert_allclose(narma(5)[0][:3], [0.1, 0.10003, 0.100235], atol=5e-7)
    assert (round(narma(5)[1].min(), 5), round(narma(5)[1].max(), 5)) == (0.14916, 0.22577)
    assert round(narma(10)[1].max(), 5) == 0.23873


def test_damped_shm_bessel_and_delayed_control_reference_values() -> None:
    np.testing.assert_allclose(damped_shm()[:5], [3, 2.861494, 2.536997, 2.06314, 1.484374], atol=5e-6)
    np.testing.assert_allclose(minmax_scale(damped_shm())[:5], [1, 0.951899, 0.839206, 0.674644, 0.473647], atol=5e-6)
    np.testing.assert_allclose(minmax_scale(bessel_j2())[:4], [0.668157, 0.857764, 0.975598, 1.0], atol=5e-6)
    from scipy.special import jv

    x = np.linspace(0.1, 20, 240)
    np.testing.assert_allclose(bessel_j2(240, 0.1, 20, scale=5.0), jv(2, 5 * x), rtol=0, atol=0)
    s = delayed_quantum_control()
    x = np.arange(-2, 20, 0.01)
    assert len(s) == 2200 and s[1234] == pytest.approx(
        sum(math.exp(-10 * (x[1234] - 2 * n) ** 2) for n in range(11)) * math.exp(-x[1234] / 16), rel=1e-12)
    assert s.min() == pytest.approx(4.814e-18, rel=1e-3) and s.max() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("name,length,n_train,n_test", [("damped_shm", 240, 157, 78), ("bessel", 256, 168, 83),
                                                        ("delayed_qc", 2200, 1470, 725), ("narma5", 300, 197, 98),
                                                        ("narma10", 300, 197, 98)])
def test_windows_and_sequential_split(name: str, length: int, n_train: int, n_test: int) -> None:
    d = load_series(name)
    assert len(d.series) == length and (len(d.x_train), len(d.x_test)) == (n_train, n_test)
    assert d.x.shape == (length - 5, 4, 1) and d.y.shape == (length - 5, 1)
    i = 37
    torch.testing.assert_close(d.x[i, :, 0], torch.tensor(d.inputs[i:i + 4], dtype=torch.float32))
    assert float(d.y[i, 0]) == pytest.approx(float(d.series[i + 4]), abs=1e-7)
    if name.startswith("narma"):  # input u -> output y, unscaled
        assert d.inputs.max() < 0.21 and d.series.min() > 0.14
    else:
        assert (d.series.min(), d.series.max()) == (-1.0, 1.0)


def test_series_errors() -> None:
    with pytest.raises(ValueError, match=r"series='narma2' is unknown; use one of \['bessel', 'damped_shm'"):
        load_series("narma2")
    with pytest.raises(ValueError, match=r"train_fraction=1.0 must lie strictly between 0 and 1"):
        load_series("bessel", train_fraction=1.0)
    with pytest.raises(ValueError, match="cannot min-max scale a constant series"):
        minmax_scale(np.ones(5))
    with pytest.raises(ValueError, match="a series of 5 points gives 0 windows of length 4"):
        make_windows(np.arange(5.0), np.arange(5.0))
    with pytest.raises(ValueError, match="order=0 must be a positive integer"):
        narma(0)


def test_binary_subsets() -> None:
    images, labels = torch.arange(6).reshape(6, 1), torch.tensor([5, 1, 3, 1, 5, 7])
    x, y = binary_subset(images, labels, (1, 5))
    assert x[:, 0].tolist() == [0, 1, 3, 4] and y.tolist() == [1, 0, 0, 1]
    s = load_binary_splits("mnist5k", (1, 5), 800, 200, seed=0)
    assert (len(s.train), len(s.test), len(s.val)) == (800, 200, 0)
    assert int(s.train.tensors[1].sum()) == 400 and int(s.test.tensors[1].sum()) == 100
    with pytest.raises(ValueError, match=r"classes=\(1, 1\) must be two different labels in 0..9"):
        load_binary_splits("mnist5k", (1, 1), 10, 10)
    with pytest.raises(ValueError, match="n_train \\+ n_test = 1001 > 1000 MNIST-5k images of classes"):
        load_binary_splits("mnist5k", (1, 5), 801, 200)
    with pytest.raises(ValueError, match=r"source='cifar' is unknown; use one of \['mnist5k', 'fashion'\]"):
        load_binary_splits("cifar", (1, 5), 10, 10)
