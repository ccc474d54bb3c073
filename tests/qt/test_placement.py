"""Generator placement (``qnn_device``) and the CUDA-graph flag, checked on CPU.

No GPU here: crossings are exercised CPU to CPU (the same Function runs), copies are counted by
patching the one function that makes them, and "the generator lives elsewhere" is mocked.
"""
from __future__ import annotations

import pickle

import pytest
import torch
from torch import nn

from qtrain.qt import QuantumParameterGenerator, QuantumTrain, placement
from qtrain.qt.placement import (
    Placement,
    choose_device,
    generate_across,
    host_threads,
    parse_qnn_device,
    time_generation,
)


def _target() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))  # 51 weights: 6 qubits


def _qt(**kw: object) -> QuantumTrain:
    torch.manual_seed(1)
    return QuantumTrain(_target(), blocks=3, **kw)  # type: ignore[arg-type]


def _loss_and_grads(qt: QuantumTrain) -> tuple[torch.Tensor, list[torch.Tensor]]:
    x = torch.linspace(-1, 1, 20).reshape(5, 4)
    loss = qt(x).square().sum()
    loss.backward()
    return loss.detach(), [p.grad.clone() for p in qt.parameters()]


def test_crossing_moves_one_flat_vector_each_way_and_keeps_the_gradients(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forward copies the (M,) generation once, backward its gradient once; the generator's
    forward and backward run with the host thread count; gradients equal the direct path's."""
    moved: list[tuple[int, ...]] = []
    real_move = placement._move
    monkeypatch.setattr(placement, "_move", lambda t, d: moved.append(tuple(t.shape)) or real_move(t, d))
    torch.manual_seed(0)
    gen = QuantumParameterGenerator(50, blocks=2, calibrate=False)
    seen: list[int] = []
    gen.qnn_weights.register_hook(lambda g: seen.append(torch.get_num_threads()))
    weights = torch.linspace(-1, 1, 50)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        (generate_across(gen, torch.device("cpu"), threads=1) * weights).sum().backward()
        crossed = [p.grad.clone() for p in gen.parameters()]
        gen.zero_grad()
        (gen() * weights).sum().backward()
        after = torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
    # the hook fires inside the crossing's backward (1 thread), as the gradient leaves it, and directly
    assert moved == [(50,), (50,)] and seen == [1, 2, 2] and after == 2
    for got, want in zip(crossed, [p.grad for p in gen.parameters()]):
        torch.testing.assert_close(got, want, atol=0, rtol=0)


def test_a_generator_on_another_device_crosses_once_per_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """QuantumTrain whose generator reports another device goes through the crossing; same numbers."""
    direct = _loss_and_grads(_qt(qnn_device="cpu"))
    qt = _qt(qnn_device="cpu")
    moved: list[tuple[int, ...]] = []
    real_move = placement._move
    monkeypatch.setattr(placement, "_move", lambda t, d: moved.append(tuple(t.shape)) or real_move(t, d))
    monkeypatch.setattr(placement, "_device_of", lambda m: torch.device("cuda", 0))
    loss, grads = _loss_and_grads(qt)
    assert moved == [(51,), (51,)]
    torch.testing.assert_close(loss, direct[0], atol=0, rtol=0)
    for got, want in zip(grads, direct[1]):
        torch.testing.assert_close(got, want, atol=1e-7, rtol=1e-6)


def test_auto_keeps_a_cpu_target_s_generator_on_the_cpu_without_timing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(placement, "time_generation", lambda *a, **k: pytest.fail("timed a CPU target"))
    qt = _qt()
    assert qt.generator.qnn_weights.device.type == "cpu" and qt._placement.option is None


def test_auto_picks_the_faster_measured_device_ties_to_the_gpu() -> None:
    gen = QuantumParameterGenerator(50, blocks=1, calibrate=False)
    cuda = torch.device("cuda", 0)
    calls: list[tuple[str, int]] = []

    def timer(host: float, gpu: float):
        def t(device: torch.device, threads: int) -> float:
            calls.append((device.type, threads))
            return host if device.type == "cpu" else gpu
        return t

    assert choose_device(gen, cuda, 13, timer(0.003, 0.004)) == torch.device("cpu")
    assert calls == [("cpu", 1), ("cuda", torch.get_num_threads())]  # the host side runs single-threaded
    assert choose_device(gen, cuda, 13, timer(0.004, 0.003)) == cuda
    assert choose_device(gen, cuda, 13, timer(0.004, 0.004)) == cuda
    assert choose_device(gen, torch.device("cpu"), 13, timer(0.0, 1.0)) == torch.device("cpu")


def test_timing_is_the_median_after_one_warm_up() -> None:
    gen = QuantumParameterGenerator(50, blocks=1, calibrate=False)
    ticks = iter([0.0, 5.0, 10.0, 12.0, 20.0, 23.0, 30.0, 34.0])  # warm-up 5 s, then 2, 3, 4 s
    assert time_generation(gen, trials=3, threads=1, clock=lambda: next(ticks)) == 3.0
    assert gen.qnn_weights.grad is None  # timing takes gradients without accumulating them


def test_host_threads_rule() -> None:
    assert host_threads(13) == 1 and host_threads(placement.HOST_THREADS_MAX_QUBITS) == 1
    assert host_threads(19) == torch.get_num_threads()


def test_qnn_device_values_and_errors() -> None:
    assert parse_qnn_device("auto") is None and parse_qnn_device(None) is None
    assert parse_qnn_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match=r"^qnn_device='gpu' is not a device; use 'cpu', 'cuda' or 'cuda:N'$"):
        _qt(qnn_device="gpu")
    with pytest.raises(ValueError, match=r"^qnn_device='meta' is not supported; use 'auto', 'cpu', 'cuda' or 'cuda:N'"):
        _qt(qnn_device="meta")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error of a machine without CUDA")
def test_qnn_device_cuda_without_cuda_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match=r"^qnn_device='cuda' is not available: .* use qnn_device='cpu', or a CUDA"):
        _qt(qnn_device="cuda")


def test_cuda_graph_flag_validation() -> None:
    with pytest.raises(ValueError, match=r"^cuda_graph='yes' must be True or False"):
        _qt(cuda_graph="yes")
    qt = _qt(cuda_graph=True)
    with pytest.raises(ValueError, match=r"^cuda_graph=True captures the generator's step on the target's GPU, "
                                         r"but the generator runs on cpu and the target on cpu; .* cuda_graph=False"):
        qt(torch.zeros(2, 4))
    qt.eval()
    with torch.no_grad():  # evaluation does not use the graph
        torch.testing.assert_close(qt(torch.ones(2, 4)), _qt().eval()(torch.ones(2, 4)), atol=0, rtol=0)
    assert Placement(cuda_graph=True).cuda_graph


def test_placement_survives_pickling_and_dtype_moves() -> None:
    qt = _qt(qnn_device="cpu")
    qt.double()
    assert qt.generator.qnn_weights.dtype == torch.float64 and qt.generator.qnn_weights.device.type == "cpu"
    back = pickle.loads(pickle.dumps(qt))
    assert back._placement.option == torch.device("cpu") and back._placement._graph is None
    x = torch.ones(2, 4, dtype=torch.float64)
    torch.testing.assert_close(back(x), qt(x), atol=0, rtol=0)
    del back.__dict__["_placement"]  # a QuantumTrain pickled before placement existed
    old = pickle.loads(pickle.dumps(back))
    assert old._placement.option is None


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error of a machine without CUDA")
def test_a_generator_asked_for_cuda_without_cuda_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match=r"^device='cuda' is not available: .* use device='cpu'"):
        QuantumParameterGenerator(50, blocks=1, calibrate=False, device="cuda")
