"""``qtrain.sim.cache.CompileCache``: one executor per (device, dtype, diff_method, engine); gates pickle by name."""
from __future__ import annotations

import copy
import pickle

import pytest
import torch

from qtrain.sim import GATES, CompiledCircuit, DensityMatrixCircuit, DiffMethod, NoiseModel, ansatz
from qtrain.sim.cache import CompileCache
from qtrain.sim.noise import Depolarizing


def test_one_executor_per_key_and_reuse() -> None:
    cache = CompileCache(ansatz.u3_cu3(3, blocks=1), diff_method="adjoint")
    w32, w64 = torch.zeros(cache.circuit.n_params), torch.zeros(cache.circuit.n_params, dtype=torch.float64)
    a = cache.get(w32)
    assert isinstance(a, CompiledCircuit) and cache.get(w32) is a and len(cache) == 1
    assert (a.diff_method, a.dtype) == (DiffMethod.ADJOINT, torch.complex64)
    b = cache.get(w64)
    assert b is not a and b.dtype == torch.complex128 and len(cache) == 2
    c = cache.get(w32, "backprop")
    assert c.diff_method is DiffMethod.BACKPROP and len(cache) == 3
    assert cache.get(w32, engine="stages") is not a and len(cache) == 4
    cache.clear()
    assert len(cache) == 0 and cache.get(w32) is not a


def test_noisy_cache_builds_density_matrix_executors() -> None:
    noise = NoiseModel().add(Depolarizing(0.1))
    cache = CompileCache(ansatz.ry_cnot(2, blocks=1), noise=noise)
    ex = cache.get(torch.zeros(2, dtype=torch.float64))
    assert isinstance(ex, DensityMatrixCircuit) and ex.dtype == torch.complex128


def test_pickles_and_copies_drop_the_executors() -> None:
    cache = CompileCache(ansatz.ry_cnot(3, blocks=2))
    w = torch.linspace(-1, 1, cache.circuit.n_params)
    want = cache.get(w).probs(w)
    for twin in (pickle.loads(pickle.dumps(cache)), copy.deepcopy(cache)):
        assert len(twin) == 0 and len(cache) == 1
        torch.testing.assert_close(twin.get(w).probs(w), want, rtol=0, atol=0)
    assert "compiled=1" in repr(cache)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"^circuit='x' must be a qtrain.sim.Circuit"):
        CompileCache("x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"diff_method='exact'"):
        CompileCache(ansatz.ry_cnot(2, blocks=1), diff_method="exact")


def test_registered_gates_unpickle_as_the_same_singletons() -> None:
    for gate in GATES.values():
        assert pickle.loads(pickle.dumps(gate)) is gate
    p = torch.tensor([[0.3, -0.2, 1.1]])
    for name in ("cnot", "rxx", "cu3", "crx", "h"):
        f = pickle.loads(pickle.dumps(GATES[name].matrix))  # the matrix functions themselves pickle too
        arg = p[:, : GATES[name].n_params]
        torch.testing.assert_close(f(arg), GATES[name].matrix(arg), rtol=0, atol=0)
