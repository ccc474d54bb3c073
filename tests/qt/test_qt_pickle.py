"""Whole Quantum-Train models pickle: ``pickle`` and ``torch.save`` round trips give equal outputs."""
from __future__ import annotations

import io
import pickle

import pytest
import torch
from torch import nn

from qtrain.qt import MLPMapping, QuantumTrain

torch.set_num_threads(1)


def _target() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))


def _torch_roundtrip(model: nn.Module) -> nn.Module:
    buf = io.BytesIO()
    torch.save(model, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=False)


@pytest.mark.parametrize("ansatz", ["ry_cnot", "u3_cu3"])
@pytest.mark.parametrize("roundtrip", ["pickle", "torch.save"])
def test_quantum_train_round_trip_gives_the_same_outputs(ansatz: str, roundtrip: str) -> None:
    torch.manual_seed(0)
    qt = QuantumTrain(_target(), ansatz=ansatz, blocks=2, mapping=MLPMapping((4, 4)))
    x = torch.randn(4, 1, 6, 6)
    want = qt(x)  # compiles the circuit and calibrates: the copy must carry the calibration, not the program
    assert len(qt.generator._circuits) == 1
    copy = pickle.loads(pickle.dumps(qt)) if roundtrip == "pickle" else _torch_roundtrip(qt)
    assert len(copy.generator._circuits) == 0 and copy._cache is None  # caches are not pickled
    torch.testing.assert_close(copy(x), want, rtol=0, atol=0)
    loss = copy(x).square().sum()
    loss.backward()  # the copy trains: its recompiled circuit has gradients
    assert copy.generator.qnn_weights.grad is not None and float(copy.generator.qnn_weights.grad.abs().sum()) > 0


def test_cached_evaluation_state_is_not_pickled_and_state_dict_has_no_cache() -> None:
    torch.manual_seed(1)
    qt = QuantumTrain(nn.Linear(5, 2), blocks=1).eval()
    x = torch.randn(3, 5)
    with qt.cached():
        want = qt(x)
        assert qt._cache is not None
        copy = pickle.loads(pickle.dumps(qt))
    assert copy._cache is None
    torch.testing.assert_close(copy(x), want, rtol=0, atol=0)
    assert not [k for k in qt.state_dict() if "cache" in k or "circuit" in k]
