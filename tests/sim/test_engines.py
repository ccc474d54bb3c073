"""Engines behind one interface: the choice, empty batches and circuits, argument edge cases."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from reference import reference_state

from qtrain.sim import Circuit, Engine, Input, ansatz
from qtrain.sim.engines import ENGINES, EngineContext, build_engines, choose_engine, native_available, zero_state
from qtrain.sim.gradients import adjoint_run
from qtrain.sim.program import compile_program
from qtrain.sim.tables import LayerMatrices, ParamTables

ENGINE_NAMES = ["auto", "gates", "blocks", "stages"]
METHODS = ["adjoint", "backprop", "parameter_shift"]


def _ctx(c: Circuit, dtype: torch.dtype = torch.float64, device: str = "cpu") -> EngineContext:
    prog = compile_program(c)
    return EngineContext(prog, LayerMatrices(prog, dtype, torch.device(device)), dtype, torch.device(device))


@pytest.mark.parametrize("seed", range(6))
def test_every_engine_built_for_a_circuit_agrees_with_the_reference_forward_and_adjoint(seed: int) -> None:
    """Each engine's forward equals the dense reference; its adjoint walk (through the one autograd
    Function) gives the weight gradients autograd finds through the torch engine."""
    rng = np.random.default_rng(seed)
    c = ansatz.ry_cnot(5, 2, circular=True).swap(1, 4) if seed % 2 else ansatz.u3_cu3(4, 2).cz(0, 3)
    w0 = torch.tensor(rng.uniform(-3, 3, c.n_params))
    ctx = _ctx(c, torch.float64 if c.is_real else torch.complex128)
    tables = ParamTables(ctx.program, ctx.dtype, ctx.device)
    ref = torch.from_numpy(reference_state(c, w0.numpy()))
    g = torch.from_numpy(rng.uniform(-1, 1, (1, 2**c.n_qubits)))
    engines = build_engines(ctx, Engine.AUTO)
    assert [type(e).__name__ for e in engines] == [cls.__name__ for cls in ENGINES if cls.build(ctx) is not None]
    grads = []
    for i, eng in enumerate(engines):
        w = w0.clone().requires_grad_()
        operands = eng.operands(tables.build(w, None))
        out = eng.forward(zero_state(ctx, 1), operands) if eng.differentiable else adjoint_run(eng, 1, operands)
        torch.testing.assert_close(out.detach().to(torch.complex128), ref, atol=1e-12, rtol=0)
        (out * g.to(out.dtype)).sum().real.backward()
        grads.append(w.grad)
    assert type(engines[-1]).__name__ == "TorchStages"
    assert len(engines) == ((4 if seed % 2 else 3) if native_available() else 1)  # dense u3_cu3: no block program
    for got in grads[:-1]:
        torch.testing.assert_close(got, grads[-1], atol=1e-10, rtol=1e-10)


@pytest.mark.skipif(not native_available(), reason="the choice differs without the native kernels")
def test_choice_falls_back_to_the_torch_engine_where_needed() -> None:
    ctx = _ctx(ansatz.ry_cnot(8, 2))
    engines = build_engines(ctx, Engine.AUTO)
    assert [e.kind for e in engines] == [Engine.GATES, Engine.BLOCKS, Engine.STAGES, Engine.STAGES]
    assert choose_engine(engines, Engine.AUTO, 4).kind is Engine.GATES  # 4 * 2**8 amplitudes: call overhead
    assert choose_engine(engines, Engine.AUTO, 64).kind is Engine.BLOCKS
    assert type(choose_engine(engines, Engine.STAGES, 64)).__name__ == "NativeStages"
    assert type(choose_engine(engines, Engine.AUTO, 64, differentiable=True)).__name__ == "TorchStages"
    assert type(choose_engine(engines, Engine.GATES, 0)).__name__ == "TorchStages"  # native kernels take no B=0
    assert [type(e).__name__ for e in build_engines(ctx, Engine.GATES)] == ["GateProgram", "NativeStages",
                                                                           "TorchStages"]


def test_other_devices_run_on_the_torch_engine() -> None:
    for engine in ENGINE_NAMES:
        cc = ansatz.ry_cnot(4, 2).compile(device="meta", engine=engine)
        assert cc.engine_for(1) is Engine.STAGES and cc.engine_for(4096) is Engine.STAGES


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("engine", ["auto", "gates", "stages"])
def test_an_empty_batch_gives_empty_results_and_zero_gradients(engine: str, method: str) -> None:
    c = Circuit(3).ry(0, Input(0)).ry(1, 0).cnot(0, 1).crx(1, 2, 1)
    cc = c.compile(engine=engine, diff_method=method, dtype=torch.float64)
    w = torch.tensor([0.3, -0.2], dtype=torch.float64, requires_grad=True)
    x = torch.zeros(0, 1, dtype=torch.float64, requires_grad=True)
    p, e = cc.probs(w, x), cc.expval(w, inputs=x, observable="X")
    assert p.shape == (0, 8) and e.shape == (0, 3)
    (p.sum() + e.sum()).backward()
    assert w.grad.tolist() == [0.0, 0.0] and x.grad.shape == (0, 1)
    assert cc.marginal_probs(w, [2], x).shape == (0, 2) and cc.sample(w, 5, x).shape == (0, 5, 3)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_an_empty_circuit_is_the_zero_state_on_every_engine(engine: str, method: str) -> None:
    cc = Circuit(2).compile(engine=engine, diff_method=method)
    w = torch.zeros(0, requires_grad=True)
    assert cc.probs(w).tolist() == [[1.0, 0.0, 0.0, 0.0]]
    assert cc.state(None).reshape(-1).tolist() == [1.0, 0.0, 0.0, 0.0]


def test_weights_as_a_python_list_keep_float64_precision() -> None:
    w = [0.1234567890123, -2.3456789012345]
    cc = Circuit(1).ry(0, 0).rx(0, 1).compile(dtype=torch.complex128)
    got = cc.state(w).reshape(-1).numpy()
    np.testing.assert_allclose(got, reference_state(Circuit(1).ry(0, 0).rx(0, 1), np.array(w))[0], atol=1e-15)
    x = [[0.1234567890123]]
    p = Circuit(1).ry(0, Input(0)).compile(dtype=torch.float64).probs(None, x)
    assert abs(float(p[0, 0]) - math.cos(x[0][0] / 2) ** 2) < 1e-15


@pytest.mark.parametrize("method", METHODS)
def test_nan_or_infinite_angles_are_refused(method: str) -> None:
    cc = ansatz.ry_cnot(3, 2).compile(diff_method=method)
    w = torch.zeros(6)
    w[4] = float("nan")
    with pytest.raises(ValueError, match=r"weights must be finite, got nan at index 4 "
                                         r"\(1 non-finite value\(s\) of 6\); check the learning rate"):
        cc.probs(w)
    w[4], w[1] = float("inf"), float("-inf")
    with pytest.raises(ValueError, match=r"weights must be finite, got -inf at index 1 \(2 non-finite"):
        cc.probs(w)
    enc = Circuit(2).ry(0, Input(1)).compile(diff_method=method)
    with pytest.raises(ValueError, match=r"inputs must be finite, got nan at index \(1, 1\)"):
        enc.probs(None, torch.tensor([[0.0, 1.0], [0.0, float("nan")]]))
    big = torch.full((6,), 3e38)  # the sum overflows to inf; every entry is finite: accepted
    assert torch.isfinite(cc.probs(big)).all()


def test_engine_blocks_is_refused_for_circuits_it_cannot_run() -> None:
    if not native_available():
        pytest.skip("engine='blocks' falls back to stages without the native kernels")
    with pytest.raises(ValueError, match=r"engine='blocks' runs circuits of shared single-qubit gates and "
                                         r"CNOT/SWAP/X networks only; this one has per-sample inputs"):
        Circuit(2).ry(0, Input(0)).cnot(0, 1).compile(engine="blocks")
    with pytest.raises(ValueError, match="engine='blocks' runs circuits"):
        Circuit(2).h(0).cz(0, 1).compile(engine="blocks")  # a phased permutation
