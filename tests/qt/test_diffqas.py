"""DiffQAS-QT: the 12 candidates, their fast and batched simulations, gradients, counts, derive."""
from __future__ import annotations

import copy
import math
import pickle

import numpy as np
import pytest
import torch
from reference import reference_state
from torch import nn

from qtrain.models import SeriesLSTM, actor_mlp, critic_mlp, image_mlp
from qtrain.qt import DiffQASGenerator, DiffQASTrain
from qtrain.qt.diffqas_space import (CANDIDATES, CandidateSimulator, Entangler, Rotation, batched_circuit,
                                     batched_inputs, candidate_circuit, parse_candidates)
from qtrain.sim import get_gate

ENGINES = ("grouped", "batched", "separate")


def _angles(n: int, depth: int, seed: int, rows: int = 1, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(rows, depth * n, generator=g, dtype=dtype) * 2 - 1) * math.pi


# ----------------------------------------------------------------------------- the search space
def test_table_i_numbering() -> None:
    labels = [c.label for c in CANDIDATES]
    assert labels == ["H-Ent-Rx", "H-Ent-Ry", "H-Ent-Rz", "H-Cyc-Rx", "H-Cyc-Ry", "H-Cyc-Rz",
                      "N-Ent-Rx", "N-Ent-Ry", "N-Ent-Rz", "N-Cyc-Rx", "N-Cyc-Ry", "N-Cyc-Rz"]
    assert [c.number for c in CANDIDATES] == list(range(1, 13))
    assert [c.closed_form for c in CANDIDATES] == ["uniform", None, "uniform", "uniform", None, "uniform",
                                                   None, None, "zero", None, None, "zero"]
    assert parse_candidates((11, 2)) == (CANDIDATES[10], CANDIDATES[1])
    assert CANDIDATES[4].entangler is Entangler.CYC and CANDIDATES[6].rotation is Rotation.RX


def test_candidate_circuits_are_the_literal_gates() -> None:
    c = candidate_circuit(CANDIDATES[3], 3, 2)  # config 4: H, then 2 x (Rx on 3 wires, CNOT 0-1, 1-2, 2-0)
    names = [(op.gate.name, op.wires) for op in c.ops]
    assert names[:3] == [("h", (0,)), ("h", (1,)), ("h", (2,))]
    layer = [("rx", (0,)), ("rx", (1,)), ("rx", (2,)), ("cnot", (0, 1)), ("cnot", (1, 2)), ("cnot", (2, 0))]
    assert names[3:] == layer * 2 and c.n_params == 6
    assert [op.params for op in c.ops if op.gate.name == "rx"] == [(0,), (1,), (2,), (3,), (4,), (5,)]
    assert [op.gate.name for op in candidate_circuit(CANDIDATES[8], 3, 1).ops] == ["rz"] * 3 + ["cnot"] * 2


def _equal_up_to_phase(a: np.ndarray, b: np.ndarray) -> float:
    k = np.unravel_index(np.argmax(np.abs(b)), b.shape)
    phase = a[k] / b[k]
    return float(np.abs(a - phase * b).max()) if abs(abs(phase) - 1) < 1e-12 else 1.0


@pytest.mark.parametrize("t", [0.3, -1.7, 2.9])
def test_basis_change_identities(t: float) -> None:
    def m(name: str, *p: float) -> np.ndarray:
        return get_gate(name).matrix(torch.tensor(p, dtype=torch.float64)).to(torch.complex128).numpy()

    h = np.pi / 2
    assert np.abs(m("rx", t) - m("ry", h) @ m("rz", t) @ m("ry", -h)).max() < 1e-14
    assert np.abs(m("ry", t) - m("rx", -h) @ m("rz", t) @ m("rx", h)).max() < 1e-14
    assert _equal_up_to_phase(m("h"), m("ry", h) @ m("rz", np.pi)) < 1e-14
    phase_c = np.kron(m("phase", h), np.eye(2))
    assert np.abs(m("cnot") - phase_c @ m("crx", np.pi)).max() < 1e-14


@pytest.mark.parametrize("n,depth", [(2, 2), (3, 2), (4, 3)])
def test_every_engine_equals_the_float64_reference(n: int, depth: int) -> None:
    theta = _angles(n, depth, seed=n)
    ref = np.stack([np.abs(reference_state(candidate_circuit(c, n, depth), theta[0].numpy())[0]) ** 2
                    for c in CANDIDATES])
    for engine in ENGINES:
        got = CandidateSimulator(n, depth, engine=engine).probs(theta)
        np.testing.assert_allclose(got.numpy(), ref, atol=1e-12, err_msg=engine)


def test_batched_circuit_reference_matches_candidates() -> None:
    n, depth = 3, 2
    theta = _angles(n, depth, seed=5)[0].numpy()
    x = batched_inputs(CANDIDATES).numpy()
    states = reference_state(batched_circuit(n, depth), theta, x)
    for i, cand in enumerate(CANDIDATES):
        lit = reference_state(candidate_circuit(cand, n, depth), theta)[0]
        np.testing.assert_allclose(np.abs(states[i]) ** 2, np.abs(lit) ** 2, atol=1e-12)


def test_one_batched_simulation_equals_12_separate_ones_float32() -> None:
    n, depth = 6, 4
    theta = _angles(n, depth, seed=1, dtype=torch.float32)
    sep = CandidateSimulator(n, depth, engine="separate").probs(theta)
    for engine in ("grouped", "batched"):
        got = CandidateSimulator(n, depth, engine=engine).probs(theta)
        assert float((got - sep).abs().max()) < 1e-6, engine


def test_per_candidate_angles_equal_separate_runs() -> None:
    n, depth = 4, 2
    rows = _angles(n, depth, seed=2, rows=12)
    sep = CandidateSimulator(n, depth, engine="separate").probs(rows)
    for engine in ("grouped", "batched"):
        torch.testing.assert_close(CandidateSimulator(n, depth, engine=engine).probs(rows), sep, atol=1e-12, rtol=0)
    one = CandidateSimulator(n, depth, (CANDIDATES[6],), engine="separate").probs(rows[6:7])
    torch.testing.assert_close(sep[6:7], one, atol=1e-12, rtol=0)


def test_closed_form_candidates_do_not_depend_on_the_angles() -> None:
    n, depth = 4, 3
    sim = CandidateSimulator(n, depth, engine="separate")
    a, b = sim.probs(_angles(n, depth, 10)), sim.probs(_angles(n, depth, 11))
    for i, cand in enumerate(CANDIDATES):
        moved = float((a[i] - b[i]).abs().max())
        assert (moved < 1e-12) == (cand.closed_form is not None), cand.label
    assert float((a[0] - 1 / 16).abs().max()) < 1e-12 and float(a[8, 0]) == pytest.approx(1.0, abs=1e-12)


def test_simulator_rejects_bad_angles() -> None:
    sim = CandidateSimulator(3, 2)
    with pytest.raises(ValueError, match=r"angles must have shape \(1, 6\) \(shared\) or \(12, 6\)"):
        sim.probs(torch.zeros(2, 6))
    with pytest.raises(ValueError, match="engine='fast' is not supported; use one of"):
        CandidateSimulator(3, 2, engine="fast")
    with pytest.raises(ValueError, match="depth=0 must be a positive integer"):
        CandidateSimulator(3, 0)
    with pytest.raises(ValueError, match=r"candidates=\[0, 3\] must be distinct Table I numbers in 1..12"):
        parse_candidates([0, 3])
    with pytest.raises(ValueError, match=r"candidates=\[2, 2\] must be distinct"):
        parse_candidates([2, 2])


# ----------------------------------------------------------------------------- parameter counts
@pytest.mark.parametrize("target,qubits,depth,generated,counts", [
    (image_mlp, 17, 15, 108_866, (255, 19, 12, 286)),
    (SeriesLSTM, 11, 10, 1_781, (110, 13, 12, 135)),
    (actor_mlp, 13, 10, 6_023, (130, 15, 12, 157)),
    (critic_mlp, 13, 10, 5_825, (130, 15, 12, 157)),
])
def test_paper_parameter_counts(target, qubits: int, depth: int, generated: int, counts: tuple) -> None:
    model = target()
    assert sum(p.numel() for p in model.parameters()) == generated
    s = DiffQASTrain(model, depth=depth).summary()
    assert (s.qnn, s.mapping, s.extras, s.trainable) == counts
    assert (s.generated, s.n_qubits, s.classical) == (generated, qubits, 0)
    fixed = DiffQASTrain(model, depth=depth, candidates=(5,)).summary()
    assert (fixed.extras, fixed.trainable) == (0, counts[3] - 12)


def test_options_change_the_accounting() -> None:
    per = DiffQASTrain(SeriesLSTM(), depth=10, shared_angles=False).summary()
    assert (per.qnn, per.extras) == (12 * 110, 12)
    soft = DiffQASTrain(SeriesLSTM(), depth=10, weighting="softmax")
    w = soft.generator.mixing_weights()
    w = w.detach()
    assert soft.summary().extras == 12 and float(w.sum()) == pytest.approx(1.0) and float(w[0]) == pytest.approx(1 / 12)
    pair = DiffQASTrain(SeriesLSTM(), depth=10, candidates=(2, 8)).summary()
    assert pair.extras == 2


# ----------------------------------------------------------------------------- gradients
def _generator(engine: str, weighting: str = "raw", shared: bool = True) -> DiffQASGenerator:
    torch.manual_seed(0)
    return DiffQASGenerator(12, 4, depth=2, engine=engine, weighting=weighting, shared_angles=shared,
                            calibrate=False, dtype=torch.float64)


@pytest.mark.parametrize("engine,weighting,shared", [("grouped", "raw", True), ("batched", "raw", True),
                                                     ("grouped", "softmax", False)])
def test_structural_and_angle_gradients_match_finite_differences(engine: str, weighting: str, shared: bool) -> None:
    gen = _generator(engine, weighting, shared)
    with torch.no_grad():
        gen.structural_weights.copy_(torch.linspace(-0.3, 0.5, 12, dtype=torch.float64))
    probe = torch.linspace(-1, 1, 12, dtype=torch.float64)

    def f(angles: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        params = {"qnn_weights": angles, "structural_weights": w}
        return torch.func.functional_call(gen, params, ()) @ probe

    angles = gen.qnn_weights.detach().clone().requires_grad_(True)
    w = gen.structural_weights.detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(f, (angles, w), eps=1e-6, atol=1e-7)
    g_a, g_w = torch.autograd.grad(f(angles, w), (angles, w))
    assert float(g_a.abs().max()) > 1e-3 and float(g_w.abs().max()) > 1e-3


def test_mixture_is_the_weighted_sum_of_candidate_probabilities() -> None:
    gen = _generator("grouped")
    pc = gen.candidate_probs()
    w = torch.arange(1.0, 13.0, dtype=torch.float64)
    with torch.no_grad():
        gen.structural_weights.copy_(w)
    torch.testing.assert_close(gen.probs(), (w[:, None] * pc).sum(0))
    assert pc.shape == (12, 12)


@pytest.mark.parametrize("target,depth", [(SeriesLSTM, 10), (image_mlp, 3)])
def test_every_generated_tensor_receives_a_gradient(target, depth: int, single_thread: None) -> None:
    torch.manual_seed(3)
    qt = DiffQASTrain(target(), depth=depth)
    x = torch.randn(5, 4, 1) if target is SeriesLSTM else torch.randn(5, 1, 28, 28)
    weights = qt.generate()
    for t in weights.values():
        t.retain_grad()
    out = torch.func.functional_call(qt.target, weights, (x,))
    out.square().sum().backward()
    for name, t in weights.items():
        assert t.grad is not None and float(t.grad.abs().sum()) > 0, name
    assert sorted(weights) == sorted(n for n, _ in target().named_parameters())
    for p in qt.parameters():
        assert p.grad is not None
    assert float(qt.generator.qnn_weights.grad.abs().sum()) > 0
    assert float(qt.generator.structural_weights.grad.abs().min()) > 0


# ----------------------------------------------------------------------------- wrapper behaviour
def test_architecture_report_and_derive(single_thread: None) -> None:
    torch.manual_seed(0)
    qt = DiffQASTrain(SeriesLSTM(hidden_size=4), depth=2)
    with torch.no_grad():
        qt.generator.structural_weights.copy_(torch.tensor([0.1] * 7 + [0.9] + [0.1] * 4))
    report = qt.architecture()
    assert report.argmax.number == 8 and report.to_dict()["argmax_label"] == "N-Ent-Ry"
    assert report.to_dict()["weights"]["8 N-Ent-Ry"] == pytest.approx(0.9)
    derived = qt.derive()
    assert [c.number for c in derived.generator.candidates] == [8]
    assert derived.summary().extras == 0
    torch.testing.assert_close(derived.generator.qnn_weights, qt.generator.qnn_weights)
    torch.testing.assert_close(derived.generator.mapping.net[0].weight, qt.generator.mapping.net[0].weight)
    torch.testing.assert_close(derived.generator.scale, qt.generator.scale)
    x = torch.randn(3, 4, 1)
    alone = DiffQASTrain(SeriesLSTM(hidden_size=4), depth=2, candidates=(8,))
    alone.load_state_dict(derived.state_dict())
    torch.testing.assert_close(alone(x), derived(x))
    fresh = qt.derive(reinit=True)
    assert not torch.equal(fresh.generator.qnn_weights, qt.generator.qnn_weights)


def test_export_pickle_and_deepcopy_reproduce_the_outputs(tmp_path) -> None:
    torch.manual_seed(0)
    qt = DiffQASTrain(nn.Sequential(nn.Linear(5, 3), nn.Tanh(), nn.Linear(3, 2)), depth=2).eval()
    x = torch.randn(4, 5)
    with torch.no_grad():
        y = qt(x)
        torch.testing.assert_close(qt.export(tmp_path)(x), y)
        torch.testing.assert_close(copy.deepcopy(qt)(x), y)
        torch.testing.assert_close(pickle.loads(pickle.dumps(qt))(x), y)
    assert (tmp_path / "model.safetensors").is_file()


def test_wrapper_rejects_fixed_arguments() -> None:
    with pytest.raises(ValueError, match="ansatz= is fixed by DiffQASTrain"):
        DiffQASTrain(nn.Linear(3, 2), ansatz="u3_cu3")
    with pytest.raises(ValueError, match="weighting='sum' is not supported; use one of"):
        DiffQASTrain(nn.Linear(3, 2), weighting="sum")
    with pytest.raises(ValueError, match="n_qubits=2 gives 4 basis states but the model has 8 parameters"):
        DiffQASTrain(nn.Linear(3, 2), n_qubits=2)


def test_any_target_module_conv_batchnorm(single_thread: None) -> None:
    torch.manual_seed(0)
    target = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                           nn.Linear(3 * 16, 2))
    qt = DiffQASTrain(target, depth=2)
    s = qt.summary()
    assert (s.generated, s.n_qubits, s.qnn, s.mapping, s.extras) == (30 + 6 + 98, 8, 16, 10, 12)
    x = torch.randn(5, 1, 4, 4)
    out = qt(x)
    out.sum().backward()
    assert out.shape == (5, 2) and int(qt.target[1].num_batches_tracked) == 1
    assert all(p.grad is not None for p in qt.parameters())


def test_asinh_feature_keeps_the_zero_state_spike_out_of_the_calibration(single_thread: None) -> None:
    """The no-H Rz candidates put w_c on basis state 0; as a linear feature (p * 2**n) that one value
    dominates the first tensor's spread at calibration and shrinks every other weight of it."""
    from qtrain.qt.diffqas import AsinhTransform

    spread = {}
    for transform in ("scaled", "asinh"):
        torch.manual_seed(0)
        target = nn.Linear(200, 20)
        qt = DiffQASTrain(target, depth=2, transform=transform)
        with torch.no_grad():
            w = qt.generate()["weight"].reshape(-1)
        spread[transform] = float(w[1:].std() / target.weight.detach().std())
    assert spread["scaled"] < 0.5 < 0.8 < spread["asinh"] < 1.2
    assert isinstance(DiffQASTrain(nn.Linear(3, 2), depth=1, transform="asinh").generator.transform, AsinhTransform)
    assert not isinstance(DiffQASTrain(nn.Linear(3, 2), depth=1).generator.transform, AsinhTransform)  # scaled
    with pytest.raises(ValueError, match=r"transform='log' is unknown; use one of \['asinh', 'scaled', 'raw'"):
        DiffQASTrain(nn.Linear(3, 2), transform="log")
