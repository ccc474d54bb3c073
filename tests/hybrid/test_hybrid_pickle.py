"""Hybrid layers pickle: ``pickle`` and ``torch.save`` round trips of QuantumLayer, QCML, QCNN give equal outputs."""
from __future__ import annotations

import io
import pickle
from typing import Callable

import pytest
import torch
from torch import nn

from qtrain.hybrid import QCML, QuantumLayer
from qtrain.hybrid.qcnn import QCNN

torch.set_num_threads(1)


def _torch_roundtrip(model: nn.Module) -> nn.Module:
    buf = io.BytesIO()
    torch.save(model, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=False)


MODELS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "QuantumLayer": (lambda: QuantumLayer(4, blocks=2), (3, 4)),
    "QCML": (lambda: QCML("mnist", blocks=2), (2, 1, 28, 28)),
    "QCNN": (lambda: QCNN(4, conv="su4", n_layers=1), (3, 4)),
    "QCNN noisy": (lambda: QCNN(4, conv="so4", n_layers=1, noise=0.05), (3, 4)),
}


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("roundtrip", ["pickle", "torch.save"])
def test_round_trip_gives_the_same_outputs(name: str, roundtrip: str) -> None:
    torch.manual_seed(2)
    build, shape = MODELS[name]
    model = build()
    x = torch.randn(*shape)
    want = model(x)  # compiled before pickling: the copy recompiles
    copy = pickle.loads(pickle.dumps(model)) if roundtrip == "pickle" else _torch_roundtrip(model)
    layers = [m for m in copy.modules() if hasattr(m, "_circuits")]
    assert layers and all(len(m._circuits) == 0 for m in layers)
    torch.testing.assert_close(copy(x), want, rtol=0, atol=0)
    copy(x).sum().backward()
    assert all(p.grad is not None for p in copy.parameters())
