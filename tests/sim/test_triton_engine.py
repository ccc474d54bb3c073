"""The Triton engine: its kernels, run on CPU tensors by Triton's interpreter, against the float64 reference.

Small circuits only (the interpreter runs every program in Python). Each case runs twice: as one
whole-state pass (what 13-qubit Quantum-Train circuits do on a GPU) and split into 2- or 3-bit
tiles, so the multi-pass path (gathers through permutations, scatters back in the adjoint) is
covered on a few qubits too. float32 results must match the float64 reference to 1e-5.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from reference import reference_state

from qtrain.sim import Circuit, Engine, Input, ansatz
from qtrain.sim.devices import check_device
from qtrain.sim.engines import EngineContext, build_engines, choose_engine
from qtrain.sim.engines.triton_engine import TritonEngine, runs_triton, triton_available
from qtrain.sim.engines.triton_plan import GATE1, GATE2, PERM, plan_program
from qtrain.sim.gradients import adjoint_run
from qtrain.sim.program import compile_program
from qtrain.sim.tables import LayerMatrices, ParamTables

needs_triton = pytest.mark.skipif(not triton_available(), reason='needs triton (pip install "qtrain[gpu]")')
TILES = [None, 2]  # None: the whole state in one tile (one launch); 2: four-amplitude tiles, many passes


def every_gate() -> Circuit:
    """Every gate of the library on 4 qubits: fixed and parameterised, real and complex, 1q and 2q."""
    c = Circuit(4).h(0).x(1).y(2).z(3).s(0).t(1).sx(2).i(3)
    c.rx(0, 0).ry(1, 1).rz(2, 2).phase(3, 3).u3(0, 4, 5, 6)
    c.cnot(0, 1).cz(1, 2).swap(2, 3)
    c.crx(0, 2, 7).cry(3, 1, 8).crz(1, 3, 9).cu3(2, 0, 10, 11, 12)
    c.rxx(0, 3, 13).ryy(1, 2, 14).rzz(3, 0, 15)
    return c.ry(2, 16).cnot(3, 0)


def per_sample() -> Circuit:
    """Angle encoding (per-sample Ry, Rz and a controlled rotation), then shared blocks."""
    c = Circuit(4)
    for q in range(4):
        c.ry(q, Input(q))
    c.rz(1, Input(0, 0.5)).crx(0, 3, Input(2))
    return c.extend(ansatz.ry_cnot(4, 2)).cu3(1, 2, 8, 9, 10)


def _ctx(c: Circuit, dtype: torch.dtype) -> EngineContext:
    prog = compile_program(c)
    return EngineContext(prog, LayerMatrices(prog, dtype, torch.device("cpu")), dtype, torch.device("cpu"))


def _run(c: Circuit, dtype: torch.dtype, tile_bits: int | None, w: torch.Tensor,
         x: torch.Tensor | None) -> torch.Tensor:
    """Probabilities through the Triton engine and the adjoint autograd Function."""
    ctx = _ctx(c, dtype)
    eng = TritonEngine(ctx, tile_bits=tile_bits)
    b = 1 if x is None else x.shape[0]
    state = adjoint_run(eng, b, eng.operands(ParamTables(ctx.program, dtype, ctx.device).build(w, x)))
    return state.abs() ** 2


def _check(c: Circuit, tile_bits: int | None, seed: int, batch: int = 0) -> None:
    """float32 probabilities vs the float64 reference, adjoint gradients vs float64 backprop, to 1e-5."""
    rng = np.random.default_rng(seed)
    w64 = torch.tensor(rng.uniform(-3, 3, c.n_params))
    x64 = torch.tensor(rng.uniform(-2, 2, (batch, c.n_inputs))) if batch else None
    ref = np.abs(reference_state(c, w64.numpy(), None if x64 is None else x64.numpy())) ** 2
    g = torch.tensor(rng.uniform(-1, 1, ref.shape))
    w = w64.float().requires_grad_()
    x = x64.float().requires_grad_() if x64 is not None else None
    p = _run(c, torch.float32 if c.is_real else torch.complex64, tile_bits, w, x)
    torch.testing.assert_close(p.double(), torch.from_numpy(ref), atol=1e-5, rtol=0)
    (p * g.float()).sum().backward()
    w_ref = w64.clone().requires_grad_()
    x_ref = x64.clone().requires_grad_() if x64 is not None else None
    exact = c.compile(dtype=torch.float64, diff_method="backprop")
    (exact.probs(w_ref, x_ref) * g).sum().backward()
    torch.testing.assert_close(w.grad.double(), w_ref.grad, atol=1e-5, rtol=0)
    if x is not None:
        torch.testing.assert_close(x.grad.double(), x_ref.grad, atol=1e-5, rtol=0)


@needs_triton
@pytest.mark.parametrize("tile_bits", TILES)
def test_every_gate_kind_matches_the_float64_reference(tile_bits: int | None, single_thread: None) -> None:
    _check(every_gate(), tile_bits, seed=1)


@needs_triton
@pytest.mark.parametrize("tile_bits", [None, 3])
def test_per_sample_batches_match_the_reference_with_input_gradients(tile_bits: int | None,
                                                                     single_thread: None) -> None:
    _check(per_sample(), tile_bits, seed=2, batch=3)


@needs_triton
@pytest.mark.parametrize("tile_bits", [None, 3])
def test_real_states_with_cnot_rings_and_cz_phases(tile_bits: int | None, single_thread: None) -> None:
    """Real statevector (float32 planes only): Ry layers, CNOT ring, and a CZ whose -1 phases stay real."""
    _check(ansatz.ry_cnot(5, 3, circular=True).cz(0, 4).ry(2, 0), tile_bits, seed=3)


@needs_triton
def test_compiled_circuit_runs_engine_triton_on_cpu_through_the_interpreter(single_thread: None) -> None:
    """The public path: ``engine="triton"`` on CPU runs the Triton engine (``auto`` never does on CPU)."""
    c = ansatz.u3_cu3(3, 2)
    w = torch.tensor(np.random.default_rng(4).uniform(-3, 3, c.n_params), dtype=torch.float32)
    cc = c.compile(engine="triton")
    assert cc.engine_for(1) is Engine.TRITON and c.compile().engine_for(1) is not Engine.TRITON
    ref = np.abs(reference_state(c, w.double().numpy())) ** 2
    torch.testing.assert_close(cc.probs(w).double(), torch.from_numpy(ref), atol=1e-5, rtol=0)
    e = cc.expval(w.requires_grad_(), [0, 2])
    e.sum().backward()
    assert w.grad is not None and float(w.grad.abs().sum()) > 0


@needs_triton
def test_an_empty_batch_runs_on_the_torch_engine_with_zero_gradients() -> None:
    c = Circuit(2).ry(0, Input(0)).ry(1, 0).cnot(0, 1)
    cc = c.compile(engine="triton", dtype=torch.float64)
    w = torch.tensor([0.4], dtype=torch.float64, requires_grad=True)
    p = cc.probs(w, torch.zeros(0, 1, dtype=torch.float64))
    p.sum().backward()
    assert p.shape == (0, 4) and cc.engine_for(0) is Engine.STAGES
    torch.testing.assert_close(w.grad, torch.zeros(1, dtype=torch.float64))


# -- plans and launches (no Triton needed) --------------------------------------------------
def test_quantum_train_circuits_plan_one_launch_per_direction_and_large_ones_two_per_block() -> None:
    one = plan_program(compile_program(ansatz.ry_cnot(13, 121)), 13)
    assert one.single and len(one.passes) == 1 and one.ops.shape[0] == 13 * 121 + 121
    big = plan_program(compile_program(ansatz.ry_cnot(19, 323)), 11)
    assert not big.single and len(big.passes) == 2 * 323 + 1  # two Ry passes per block + the last CNOT chain
    assert big.n_tiles == 2**8 and big.rows == (19 * 323, 0, 0, 0)
    ring = plan_program(compile_program(ansatz.u3_cu3(13, 2)), 10)
    # U3 layers and CU3 rings pack across block boundaries: 5 launches for 2 blocks of 26 ops each
    assert [p.op_end - p.op_start for p in ring.passes] == [10, 12, 13, 13, 4]


@pytest.mark.parametrize("tile_bits", [2, 3])
def test_multi_pass_plans_keep_every_op_once_inside_its_tile(tile_bits: int) -> None:
    prog = compile_program(per_sample().extend(every_gate()))
    plan = plan_program(prog, tile_bits)
    ops = plan.ops.tolist()
    assert PERM not in {o[0] for o in ops}  # permutations ride on the loads of multi-pass plans
    seen = {(o[0], o[3], o[4]) for o in ops}
    assert len(seen) == len(ops) == sum(plan.rows)
    for ps in plan.passes:
        assert len(ps.positions) == 4 and sorted(ps.positions) == [0, 1, 2, 3]
        assert list(ps.positions[:tile_bits]) == sorted(ps.positions[:tile_bits])
        for o in ops[ps.op_start:ps.op_end]:
            assert o[1] < tile_bits and (o[0] == GATE1 or o[2] < tile_bits)
    assert sum(p.load_perm >= 0 for p in plan.passes) == sum(
        1 for st in prog.stages if type(st).__name__ == "MonomialStage")
    assert {o[0] for o in ops} == {GATE1, GATE2}


def test_plans_refuse_tiles_too_small_for_two_qubit_gates_and_states_over_30_qubits() -> None:
    with pytest.raises(ValueError, match=r"tile_bits=1 must be >= 2"):
        plan_program(compile_program(ansatz.u3_cu3(3, 1)), 1)
    with pytest.raises(ValueError, match=r"at most 30 qubits, got 31"):
        plan_program(compile_program(ansatz.ry_cnot(31, 1)), 11)


# -- choice and errors ------------------------------------------------------------------------
def _cuda_ctx(c: Circuit) -> EngineContext:
    """A context that says CUDA (built on CPU tensors: building an engine allocates nothing)."""
    prog = compile_program(c)
    return EngineContext(prog, LayerMatrices(prog, torch.float32, torch.device("cpu")), torch.float32,
                         torch.device("cuda"))


@needs_triton
def test_cuda_states_choose_the_triton_engine_and_the_torch_engine_for_backprop() -> None:
    engines = build_engines(_cuda_ctx(ansatz.ry_cnot(6, 2)), Engine.AUTO)
    assert [type(e).__name__ for e in engines] == ["TritonEngine", "TorchStages"]
    assert choose_engine(engines, Engine.AUTO, 1).kind is Engine.TRITON
    assert choose_engine(engines, Engine.AUTO, 1024).kind is Engine.TRITON
    assert type(choose_engine(engines, Engine.AUTO, 8, differentiable=True)).__name__ == "TorchStages"
    assert runs_triton(torch.device("cuda")) and not runs_triton(torch.device("cpu"))


def test_without_triton_cuda_falls_back_to_torch_and_engine_triton_names_the_extra(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QTRAIN_DISABLE_TRITON", "1")
    ctx = _cuda_ctx(ansatz.ry_cnot(4, 1))
    assert [type(e).__name__ for e in build_engines(ctx, Engine.AUTO)] == ["TorchStages"]
    with pytest.raises(ValueError, match=r"engine='triton' needs the triton package: pip install \"qtrain\[gpu\]\""):
        build_engines(ctx, Engine.TRITON)


@needs_triton
def test_engine_triton_refuses_devices_other_than_cuda_and_cpu() -> None:
    with pytest.raises(ValueError, match=r"engine='triton' runs on CUDA .* not on device='meta'; use engine='auto'"):
        ansatz.ry_cnot(3, 1).compile(device="meta", engine="triton")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error of a machine without CUDA")
def test_cuda_without_cuda_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match=r"^device='cuda' is not available: .*; use device='cpu', or a CUDA build"):
        ansatz.ry_cnot(3, 1).compile(device="cuda")
    with pytest.raises(ValueError, match=r"^qnn_device='cuda:1' is not available"):
        check_device("cuda:1", "qnn_device")
    with pytest.raises(ValueError, match=r"^device='tpu0' is not a device; use 'cpu', 'cuda' or 'cuda:N'$"):
        check_device("tpu0")


# -- the CUDA build of the kernels ------------------------------------------------------------
@needs_triton
@pytest.mark.parametrize("which", ["forward", "adjoint"])
def test_kernels_compile_for_the_h200(which: str) -> None:
    """Ahead-of-time compilation to sm_90a machine code (no GPU needed; Triton ships ptxas): the
    kernels the interpreter checks are also valid GPU kernels."""
    from benchmarks.speed.bench_gpu import compile_kernel

    info = compile_kernel(which, n=5, tile_bits=3, complex_state=True, arch=90)
    if info is None:
        pytest.skip("Triton's NVIDIA backend is not installed")
    assert info["cubin_bytes"] > 0 and info["spill_bytes"] == 0
