"""``center_rows``: every output unit starts at its tensor's mean (no ReLU unit dead from the start).

A linear mapping of 0/1 basis-label bits makes generated weight ``[r, c]`` a sum ``a(r) + b(c) + ...``:
whole rows (output units) start shifted, and behind a ReLU with non-negative inputs the shifted-down
units never fire (the Fashion-MNIST 1 vs 5 seed-1 collapse of DiffQAS-QT). ``center_rows=True``
measures each row's offset at the first generation and removes it for good (a fixed buffer).
"""
from __future__ import annotations

import io
import pickle

import pytest
import torch
from torch import nn

from qtrain.config import ConfigError
from qtrain.models import image_mlp
from qtrain.qt import DiffQASTrain, MLPMapping, QuantumParameterGenerator, QuantumTrain, count_parameters
from qtrain.recipes import load_config

torch.set_num_threads(1)


def _mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 4))


def _qt(rows: bool, seed: int = 3) -> QuantumTrain:
    torch.manual_seed(seed)
    return QuantumTrain(_mlp(), blocks=2, mapping=MLPMapping(()), bits="01", transform="scaled", center_rows=rows)


def test_rows_start_at_the_tensor_mean_with_the_reference_spread() -> None:
    plain, centred = _qt(False).generate(), _qt(True).generate()
    ref = _mlp()
    for name in ("0.weight", "2.weight"):
        w = centred[name].detach().double()
        torch.testing.assert_close(w.mean(1), w.mean().expand(w.shape[0]), rtol=0, atol=1e-6)
        want = float(ref.get_parameter(name).detach().std(unbiased=False))
        assert float(w.std(unbiased=False)) == pytest.approx(want, rel=1e-5)
        # without it the rows' own means spread over a large part of the weights' spread
        p = plain[name].detach().double()
        assert float(p.mean(1).std() / p.std()) > 0.3
    for name in ("0.bias", "2.bias"):  # a vector is one row: generated exactly as without center_rows
        torch.testing.assert_close(centred[name], plain[name], rtol=0, atol=0)


@pytest.mark.parametrize("seed", [0, 1])
def test_more_relu_units_of_the_image_mlp_fire_at_the_start(seed: int) -> None:
    x = torch.rand(256, 784, generator=torch.Generator().manual_seed(100))  # non-negative, as pixels

    def alive(rows: bool) -> float:
        torch.manual_seed(seed)
        w = DiffQASTrain(image_mlp(), depth=3, center_rows=rows).generate()
        (w1, b1, w2, b2) = (w[n].detach() for n in ("net.1.weight", "net.1.bias", "net.3.weight", "net.3.bias"))
        pre = torch.relu(x @ w1.T + b1) @ w2.T + b2
        return float((pre > 0).any(0).float().mean())

    before, after = alive(False), alive(True)
    assert after >= before + 0.1 and after >= 0.6, (before, after)


def test_no_extra_trainable_parameter_and_gradients_still_flow() -> None:
    a, b = _qt(False), _qt(True)
    assert count_parameters(a) == count_parameters(b)
    b(torch.randn(5, 12)).square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in b.parameters())
    assert not b.generator.row_offset.requires_grad


def test_state_dict_and_pickles_keep_the_offsets() -> None:
    a = _qt(True)
    want = a.generate()["0.weight"].detach()
    b = _qt(True, seed=9)
    b.load_state_dict(a.state_dict())
    torch.testing.assert_close(b.generate()["0.weight"], want, rtol=0, atol=0)
    buf = io.BytesIO()
    torch.save(a, buf)
    buf.seek(0)
    torch.testing.assert_close(torch.load(buf, weights_only=False).generate()["0.weight"], want, rtol=0, atol=0)


def test_a_generator_pickled_before_row_centring_still_generates() -> None:
    q = _qt(False)
    want = q.generate()["0.weight"].detach()
    state = q.generator.__dict__
    state.pop("row_counts", None)  # what an older qtrain pickled: no such attribute
    torch.testing.assert_close(pickle.loads(pickle.dumps(q)).generate()["0.weight"], want, rtol=0, atol=0)


def test_bad_row_counts_and_uncalibrated_generators_are_refused() -> None:
    with pytest.raises(ValueError) as exc:
        QuantumParameterGenerator([6, 4], blocks=1, reference=[torch.randn(6), torch.randn(4)], row_counts=[4, 2])
    assert str(exc.value) == ("row_counts=[4, 2] must give one row count per generated tensor that divides its size "
                              "[6, 4], e.g. [t.shape[0] for t in tensors]")
    with pytest.raises(ValueError, match=r"^row_counts needs calibrate=True: the row offsets are set with the "):
        QuantumTrain(_mlp(), blocks=1, center_rows=True, calibrate=False)
    with pytest.raises(ConfigError) as cfg_exc:
        load_config("diffqas_series", "smoke", ["center_rows=true", "calibrate=false"])
    assert cfg_exc.value.problems == ["center_rows=true needs calibrate=true (the row offsets are set with the "
                                      "calibration); set calibrate=true or center_rows=false"]
