"""Finite-shot Quantum-Train: ``shots`` on the generator, :func:`qtrain.qt.use_shots`, the recipe option."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from qtrain.qt import QuantumParameterGenerator, QuantumTrain, count_parameters, use_shots

torch.set_num_threads(1)


def test_use_shots_makes_generation_an_estimate_with_shift_gradients() -> None:
    torch.manual_seed(5)
    qt = QuantumTrain(nn.Linear(3, 2), blocks=1, diff_method="parameter_shift", calibrate=False)
    assert use_shots(qt, 1000) is qt and type(qt.generator) is QuantumParameterGenerator
    p = qt.generator.probs().detach()
    assert p.shape == (8,) and float((p * 1000 - (p * 1000).round()).abs().max()) < 1e-3
    qt(torch.randn(4, 3)).sum().backward()
    assert qt.generator.qnn_weights.grad is not None and torch.isfinite(qt.generator.qnn_weights.grad).all()
    with pytest.raises(ValueError, match=r"^shots=10 needs diff_method='parameter_shift' but the generator uses "
                                         r"'adjoint'"):
        use_shots(QuantumTrain(nn.Linear(3, 2), blocks=1, calibrate=False), 10)
    with pytest.raises(ValueError, match=r"^shots=0 must be a positive integer"):
        use_shots(qt, 0)
    with pytest.raises(ValueError, match=r"^model \(Linear\) holds no QuantumParameterGenerator; pass a QuantumTrain"):
        use_shots(nn.Linear(2, 2), 10)


def test_shots_option_equals_use_shots_and_none_is_exact_again() -> None:
    torch.manual_seed(6)
    gen = QuantumParameterGenerator(6, blocks=2, diff_method="parameter_shift", calibrate=False, shots=400)
    exact = gen.circuit.probs(gen.qnn_weights)[0, :6].detach()
    torch.manual_seed(0)
    a = gen.probs().detach()
    use_shots(gen, 400)
    torch.manual_seed(0)
    torch.testing.assert_close(gen.probs().detach(), a, rtol=0, atol=0)  # same seed, same samples
    assert not torch.equal(a, exact) and float((a - exact).abs().max()) < 0.1
    use_shots(gen, None)
    torch.testing.assert_close(gen.probs().detach(), exact, rtol=0, atol=0)
    assert "shots" not in gen.extra_repr() and "shots=7" in use_shots(gen, 7).extra_repr()


def test_changing_shots_invalidates_the_cached_generation() -> None:
    torch.manual_seed(7)
    qt = QuantumTrain(nn.Linear(3, 2), blocks=1, diff_method="parameter_shift", calibrate=False).eval()
    x = torch.randn(5, 3)
    with torch.no_grad():
        exact = qt(x)
        use_shots(qt, 3)  # three shots: far from the exact probabilities
        noisy = qt(x)
        use_shots(qt, None)
        again = qt(x)
    assert not torch.allclose(exact, noisy) and torch.equal(exact, again)


def test_recipe_shots_switch_every_qnn_to_parameter_shift() -> None:
    from qtrain import recipes
    from qtrain.recipes.quantum_train.qt_image import build_model
    from qtrain.sim import DiffMethod

    cfg = recipes.load_config("qt_image", "mnist_qt16", ["shots=1000", "diff_method=adjoint"])
    assert cfg.qnn_diff_method == "parameter_shift"
    qt = build_model(cfg, "qt")
    assert type(qt.generator) is QuantumParameterGenerator and qt.generator.shots == 1000
    assert qt.generator.diff_method is DiffMethod.PARAMETER_SHIFT
    qcml = build_model(cfg, "qcml")
    assert (qcml.qnn.shots, qcml.qnn.diff_method) == (1000, DiffMethod.PARAMETER_SHIFT)
    assert count_parameters(qt).trainable == 457
