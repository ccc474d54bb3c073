"""Quantum-Train wrapper, generator, mapping and accounting: paper counts, gradients, export, errors."""
from __future__ import annotations

import math
import pickle
import re
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from qtrain.qt import (MLPMapping, ParamSummary, QuantumParameterGenerator, QuantumTrain, basis_bits,
                       count_parameters, min_qubits)
from qtrain.qt.features import ProbTransform


# -- target models (defined here; qtrain.models is written separately) ------------------------
class MnistCNN(nn.Module):
    """Quantum-Train paper's MNIST CNN: 208 + 2,412 + 3,860 + 210 = 6,690 parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 8, 5), nn.Conv2d(8, 12, 5)
        self.fc1, self.fc2 = nn.Linear(192, 20), nn.Linear(20, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.conv1(x), 2)
        x = F.max_pool2d(self.conv2(x), 2)
        return self.fc2(self.fc1(x.flatten(1)))


class CifarCNN(nn.Module):
    """Quantum-Train paper's CIFAR-10 CNN: 285,226 parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(3, 16, 5, padding=2), nn.Conv2d(16, 32, 5, padding=2)
        self.fc1, self.fc2, self.fc3 = nn.Linear(2048, 128), nn.Linear(128, 64), nn.Linear(64, 10)


class LSTMNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm, self.fc = nn.LSTM(4, 8, num_layers=2, batch_first=True), nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.lstm(x)[0][:, -1])


class BNNet(nn.Module):
    """Strided, padded, grouped conv (no bias: BatchNorm follows), BatchNorm, Embedding."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, stride=2, padding=1, groups=2, bias=False)
        self.bn, self.emb, self.fc = nn.BatchNorm2d(4), nn.Embedding(5, 3), nn.Linear(4 * 4 * 4 + 3, 3)

    def forward(self, x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn(self.conv(x))).flatten(1)
        return self.fc(torch.cat([h, self.emb(idx)], 1))


def _inputs(kind: str, batch: int = 6) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(7)
    if kind == "cnn":
        return (((torch.rand(batch, 1, 28, 28, generator=g) < 0.2).float() - 0.1307) / 0.3081,)
    if kind == "lstm":
        return (torch.randn(batch, 5, 4, generator=g),)
    return torch.randn(batch, 2, 8, 8, generator=g), torch.randint(0, 5, (batch,), generator=g)


MODELS = {"cnn": MnistCNN, "lstm": LSTMNet, "bn": BNNet}


def _n(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# -- parameter accounting (paper tables) ------------------------------------------------------
def test_table_i_counts_mnist() -> None:
    torch.manual_seed(0)
    cnn = MnistCNN()
    assert _n(cnn) == 6690
    paper = {16: 457, 31: 652, 46: 847, 61: 1042, 76: 1237, 91: 1432, 106: 1627, 121: 1822}
    for blocks, total in paper.items():
        s = QuantumTrain(cnn, n_qubits=13, ansatz="ry_cnot", blocks=blocks, mapping=MLPMapping((4, 20, 4))).summary()
        assert (s.qnn, s.mapping, s.extras, s.trainable) == (13 * blocks, 249, 0, total)
        assert (s.generated, s.n_qubits, s.n_groups) == (6690, 13, 6690)
        assert s.compression == pytest.approx(total / 6690)


def test_official_code_count_and_no_template_double_count() -> None:
    torch.manual_seed(0)
    qt = QuantumTrain(MnistCNN(), n_qubits=13, ansatz="u3_cu3", ansatz_kwargs={"ring": True}, blocks=16,
                      mapping=MLPMapping.official((4, 20, 4)))
    assert qt.summary().trainable == 1497 == sum(p.numel() for p in qt.parameters())  # the repo prints 8,187
    assert count_parameters(qt) == qt.summary()
    assert isinstance(qt.summary(), ParamSummary)


def test_table_iii_counts_cifar() -> None:
    torch.manual_seed(0)
    cnn = CifarCNN()
    assert _n(cnn) == 285226 and min_qubits(285226) == 19
    paper = {19: 17482, 95: 18926, 171: 20370, 247: 21814, 323: 23258}
    for blocks, total in paper.items():
        s = QuantumTrain(cnn, blocks=blocks, mapping=MLPMapping((40, 200, 40))).summary()
        assert (s.n_qubits, s.qnn, s.mapping, s.trainable) == (19, 19 * blocks, 17121, total)


def test_qet_grouping_changes_qubits() -> None:
    torch.manual_seed(0)
    for n_per_state, qubits, groups in ((1, 13, 6690), (2, 12, 3345), (4, 11, 1673), (30, 8, 223)):
        qt = QuantumTrain(MnistCNN(), n_per_state=n_per_state, blocks=2)
        s = qt.summary()
        assert (s.n_qubits, s.n_groups) == (qubits, groups) == (math.ceil(math.log2(groups)), groups)
        # mapping (n+1)-4-20-4-n_per_state
        assert s.mapping == (qubits + 1) * 4 + 4 + 100 + 84 + 4 * n_per_state + n_per_state
        assert qt.generator().shape == (6690,)


def test_plain_module_and_extras_accounting() -> None:
    s = count_parameters(MnistCNN())
    assert (s.classical, s.trainable, s.generated, s.compression) == (6690, 6690, 0, None)
    qt = QuantumTrain(MnistCNN(), blocks=1, learn_scale=True, learn_transform=True)
    assert qt.summary().extras == 8 + 3  # one scale per generated tensor + (gamma, beta, alpha)


# -- gradients --------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["cnn", "lstm", "bn"])
def test_every_generated_tensor_gets_gradient(kind: str) -> None:
    torch.manual_seed(1)
    qt = QuantumTrain(MODELS[kind](), blocks=2)
    kept: dict[str, torch.Tensor] = {}
    generate = qt.generate

    def spy() -> dict[str, torch.Tensor]:
        out = generate()
        for name, t in out.items():
            t.retain_grad()
            kept[name] = t
        return out

    qt.generate = spy  # type: ignore[method-assign]
    qt(*_inputs(kind)).square().mean().backward()
    assert set(kept) == set(qt.generated_names) == {n for n, _ in MODELS[kind]().named_parameters()}
    for name, t in kept.items():
        assert t.grad is not None and t.grad.abs().sum() > 0, name
    assert (qt.generator.qnn_weights.grad != 0).all()
    for name, p in qt.generator.mapping.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_batchnorm_running_stats_are_buffers_and_update() -> None:
    torch.manual_seed(2)
    qt = QuantumTrain(BNNet(), blocks=2)
    names = {n for n, _ in qt.named_parameters()}
    assert not any(n.startswith("target.") for n in names)
    before = {n: b.clone() for n, b in qt.target.named_buffers() if n.startswith("bn.running")}
    qt(*_inputs("bn"))
    with torch.no_grad():
        gen = qt.generate()  # constant-initialised tensors start at their constant with a spread of 0.02
    assert float(gen["bn.weight"].mean()) == pytest.approx(1.0, abs=1e-6)
    assert float(gen["bn.weight"].std(unbiased=False)) == pytest.approx(0.02, rel=1e-4)
    assert float(gen["bn.bias"].mean()) == pytest.approx(0.0, abs=1e-6)
    assert int(qt.target.bn.num_batches_tracked) == 1
    for n, b in before.items():
        assert not torch.equal(b, qt.target.get_buffer(n)), n
    assert "target.bn.running_mean" in qt.state_dict() and "target.bn.weight" not in qt.state_dict()
    qt.eval()
    frozen = qt.target.bn.running_mean.clone()
    with torch.no_grad():
        qt(*_inputs("bn"))
    assert torch.equal(frozen, qt.target.bn.running_mean)


def test_lstm_runs_without_warnings_and_generator_gradcheck() -> None:
    torch.manual_seed(9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. RNN flat-weight / flatten_parameters warnings
        qt = QuantumTrain(LSTMNet(), blocks=1)
        qt(*_inputs("lstm")).sum().backward()
        qt.export()
    g = QuantumParameterGenerator([5, 3], blocks=2, reference=[torch.randn(5), torch.randn(3)], dtype=torch.float64)
    g()  # first call calibrates the fixed per-tensor buffers
    w = g.qnn_weights.detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda v: torch.func.functional_call(g, {"qnn_weights": v}, ()), (w,))


def test_state_dict_roundtrip_and_inference_mode() -> None:
    torch.manual_seed(10)
    a = QuantumTrain(BNNet(), blocks=2)
    a(*_inputs("bn"))  # calibrates and moves the running statistics
    torch.manual_seed(11)
    b = QuantumTrain(BNNet(), blocks=2)
    b.load_state_dict(a.state_dict())
    a.eval(), b.eval()
    with torch.inference_mode():
        torch.testing.assert_close(b(*_inputs("bn")), a(*_inputs("bn")), atol=1e-6, rtol=0)
    b.train()
    b(*_inputs("bn")).sum().backward()  # circuit compiled under inference_mode still trains
    assert b.generator.qnn_weights.grad.abs().sum() > 0


# -- export -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["cnn", "lstm", "bn"])
def test_export_matches_wrapper_and_safetensors_roundtrip(kind: str, tmp_path) -> None:
    from safetensors.torch import load_file

    torch.manual_seed(3)
    qt = QuantumTrain(MODELS[kind](), blocks=2).eval()
    x = _inputs(kind)
    with torch.no_grad():
        want = qt(*x)
    plain = qt.export(tmp_path / "out")
    assert not any(type(m).__module__.startswith("qtrain") for m in plain.modules())
    assert type(plain) is MODELS[kind] and not plain.training
    plain = pickle.loads(pickle.dumps(plain))
    with torch.no_grad():
        torch.testing.assert_close(plain(*x), want, atol=1e-6, rtol=0)
        fresh = MODELS[kind]().eval()
        fresh.load_state_dict(load_file(str(tmp_path / "out" / "model.safetensors")))
        torch.testing.assert_close(fresh(*x), want, atol=1e-6, rtol=0)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["model.safetensors"]


def test_export_into_a_file_path_raises(tmp_path) -> None:
    f = tmp_path / "file.txt"
    f.write_text("x")
    qt = QuantumTrain(nn.Linear(3, 2), blocks=1)
    with pytest.raises(ValueError, match=r"path=.*file\.txt' is a file; export\(path=...\) takes a directory"):
        qt.export(f)


def test_tied_and_frozen_parameters() -> None:
    torch.manual_seed(4)
    net = nn.Sequential(nn.Embedding(6, 4), nn.Linear(4, 6), nn.Linear(6, 2))
    net[0].weight = net[1].weight  # tie Embedding(6, 4).weight with Linear(4, 6).weight
    net[2].bias.requires_grad_(False)
    qt = QuantumTrain(net, blocks=1)
    assert qt.summary().generated == 24 + 6 + 12  # tied weight once, frozen bias not generated
    idx = torch.tensor([[0, 3], [5, 1]])
    plain = qt.export()
    assert plain[0].weight is plain[1].weight and not plain[2].bias.requires_grad
    assert torch.equal(plain[2].bias, net[2].bias)
    with torch.no_grad():
        torch.testing.assert_close(plain(idx), qt(idx), atol=1e-6, rtol=0)


# -- batch independence and cached evaluation --------------------------------------------------
def _count_circuit_calls(qt: QuantumTrain) -> list[int]:
    calls = [0]
    circuit = qt.generator.circuit
    probs = circuit.probs

    def counted(*a, **k):
        calls[0] += 1
        return probs(*a, **k)

    circuit.probs = counted  # type: ignore[method-assign]
    return calls


def test_circuit_runs_once_per_step_and_once_for_cached_eval() -> None:
    torch.manual_seed(5)
    qt = QuantumTrain(MnistCNN(), blocks=2)
    calls = _count_circuit_calls(qt)
    opt = torch.optim.SGD(qt.parameters(), lr=1e-3)
    for batch in (1, 64):
        loss = F.cross_entropy(qt(*_inputs("cnn", batch)), torch.zeros(batch, dtype=torch.long))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert calls[0] == 2
    xs = [_inputs("cnn", 16)[0] for _ in range(5)]
    qt.eval()
    with torch.no_grad():
        outs = [qt(x) for x in xs]
    assert calls[0] == 3
    qt.train()
    with qt.cached():
        again = [qt(x) for x in xs]
        assert calls[0] == 4
        with torch.no_grad():
            qt.generator.qnn_weights.add_(0.1)  # a parameter change invalidates the cache
        qt(xs[0])
        assert calls[0] == 5
    for a, b in zip(outs, again):
        torch.testing.assert_close(a, b)
    qt(xs[0])
    qt(xs[1])
    assert calls[0] == 7  # outside the context, training mode: one run per call


# -- initial scale ----------------------------------------------------------------------------
def test_initial_loss_and_weight_spread_match_default_init() -> None:
    for seed in range(2):
        torch.manual_seed(seed)
        target = MnistCNN()
        qt = QuantumTrain(target, n_qubits=13, blocks=16)
        (x,) = _inputs("cnn", 256)
        y = torch.randint(0, 10, (256,), generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            loss = float(F.cross_entropy(qt(x), y))
            gen = qt.generate()
        assert math.log(10) / 2 < loss < 2 * math.log(10), loss
        for name, p in target.named_parameters():
            ratio = float(gen[name].std() / p.detach().std())
            assert 0.5 < ratio < 2, (name, ratio)


# -- chunked mapping ---------------------------------------------------------------------------
def test_chunked_mapping_equals_unchunked() -> None:
    torch.manual_seed(6)
    sizes = [300, 37, 400, 5]
    ref = [torch.randn(s) * 0.1 for s in sizes]
    kw64 = {"reference": ref, "dtype": torch.float64}  # float64: only the reduction order differs
    full = QuantumParameterGenerator(sizes, blocks=3, memory_budget_mb=None, **kw64)
    assert full.chunk_rows == 742
    for kw in ({"chunk_size": 100}, {"memory_budget_mb": 0.01}):
        part = QuantumParameterGenerator(sizes, blocks=3, **kw, **kw64)
        assert 0 < part.chunk_rows < 742 and part.bits is None
        part.load_state_dict(full.state_dict())
        w = torch.linspace(-1, 1, 742, dtype=torch.float64)
        outs, grads = [], []
        for g in (full, part):
            g.zero_grad()
            out = g()
            (out * w).sum().backward()
            outs.append(out.detach())
            grads.append([p.grad.clone() for p in g.parameters()])
        torch.testing.assert_close(outs[1], outs[0], atol=1e-6, rtol=0)
        for a, b in zip(grads[1], grads[0]):
            torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


# -- features ---------------------------------------------------------------------------------
def test_bits_msb_first_and_transforms() -> None:
    b01 = basis_bits(4, 16, "01")
    assert ["".join(str(int(v)) for v in row) for row in b01] == [format(k, "04b") for k in range(16)]
    assert torch.equal(basis_bits(4, 16, "pm1"), 2 * b01 - 1)
    p = torch.tensor([0.0, 1e-3, 0.01, 0.5])
    torch.testing.assert_close(ProbTransform("raw", 13)(p), p)
    torch.testing.assert_close(ProbTransform("scaled", 13)(p), p * 8192)
    x = (0.8 * torch.tanh(0.1 * 4096 * p)).clamp_min(1e-12) ** 0.3
    torch.testing.assert_close(ProbTransform("tanh_power", 13)(p), x - x.mean())


def test_mlp_mapping_presets() -> None:
    paper = MLPMapping.paper((4, 20, 4)).bind(14, 1)
    official = MLPMapping.official((4, 20, 4)).bind(14, 1)
    assert [type(m).__name__ for m in paper.net] == ["Linear", "Tanh", "Linear", "Linear", "Linear"]
    assert [type(m).__name__ for m in official.net] == ["Linear"] * 4
    relu = MLPMapping((4, 4), activation="relu", first_activation=None).bind(3, 2)
    assert [type(m).__name__ for m in relu.net] == ["Linear", "Linear", "ReLU", "Linear"]
    assert _n(paper) == _n(official) == 249


# -- errors -----------------------------------------------------------------------------------
def test_too_few_qubits() -> None:
    msg = ("n_qubits=12 gives 4096 basis states but the model has 6690 parameters; "
           "use n_qubits >= 13 or n_per_state >= 2")
    with pytest.raises(ValueError, match=re.escape(msg)):
        QuantumTrain(MnistCNN(), n_qubits=12)
    with pytest.raises(ValueError, match=r"n_qubits=10 gives 1024 basis states .* in 3345 groups of n_per_state=2; "
                                         r"use n_qubits >= 12 or n_per_state >= 7"):
        QuantumTrain(MnistCNN(), n_qubits=10, n_per_state=2)
    with pytest.raises(ValueError, match=r"n_per_state=0 must be an integer >= 1"):
        QuantumTrain(MnistCNN(), n_per_state=0)


def test_mapping_output_mismatch() -> None:
    with pytest.raises(ValueError, match=r"MLPMapping out_features=2 but the generator needs out_features=1"):
        QuantumTrain(nn.Linear(3, 2), mapping=MLPMapping((4,), out_features=2))
    with pytest.raises(ValueError, match=re.escape("mapping Linear returned (8, 3) for input (8, 4) but n_per_state=1 "
                                                   "needs (8, 1)")):
        QuantumTrain(nn.Linear(3, 2), mapping=nn.Linear(4, 3))
    with pytest.raises(ValueError, match=r"mapping Linear failed on a dry run with input of shape \(8, 4\)"):
        QuantumTrain(nn.Linear(3, 2), mapping=nn.Linear(10, 1))
    with pytest.raises(ValueError, match=r"mapping=3 must be an nn.Module"):
        QuantumTrain(nn.Linear(3, 2), mapping=3)


def test_custom_mapping_module_accepted() -> None:
    torch.manual_seed(8)
    custom = nn.Sequential(nn.Linear(5, 8), nn.GELU(), nn.Linear(8, 2))
    qt = QuantumTrain(nn.Linear(3, 8), mapping=custom, n_per_state=2, blocks=1)
    assert qt.generator.n_qubits == 4 and qt.summary().mapping == _n(custom)
    assert qt(torch.randn(2, 3)).shape == (2, 8)


def test_target_errors() -> None:
    with pytest.raises(ValueError, match=r"target ReLU has no parameters with requires_grad=True"):
        QuantumTrain(nn.ReLU())
    frozen = nn.Linear(2, 2).requires_grad_(False)
    with pytest.raises(ValueError, match=r"target Linear has no parameters with requires_grad=True"):
        QuantumTrain(frozen)
    with pytest.raises(ValueError, match=r"mixed dtypes \['float32', 'float64'\]; .* target\.float\(\)"):
        QuantumTrain(nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2).double()))
    with pytest.raises(ValueError, match=r"several devices \['cpu', 'meta'\]"):
        QuantumTrain(nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2, device="meta")))
    with pytest.raises(ValueError, match=r"target must be a torch.nn.Module, got str"):
        QuantumTrain("cnn")


def test_unknown_modes_list_valid_ones() -> None:
    t = nn.Linear(3, 2)
    with pytest.raises(ValueError, match=re.escape("ansatz='foo' is unknown; use one of ['ry_cnot', 'u3_cu3']")):
        QuantumTrain(t, ansatz="foo")
    with pytest.raises(ValueError, match=re.escape("transform='log' is unknown; use one of ['raw', 'scaled', "
                                                   "'tanh_power']")):
        QuantumTrain(t, transform="log")
    with pytest.raises(ValueError, match=re.escape("bits='+-' is unknown; use one of ['01', 'pm1']")):
        QuantumTrain(t, bits="+-")
    with pytest.raises(ValueError, match=r"activation='swish' is unknown; use None or one of \['elu', 'gelu'"):
        MLPMapping((4,), activation="swish")
    with pytest.raises(ValueError, match=r"learn_transform=True needs transform='tanh_power'"):
        QuantumTrain(t, transform="raw", learn_transform=True)
    with pytest.raises(ValueError, match=r"diff_method='magic' is not supported"):
        QuantumTrain(t, diff_method="magic")
    with pytest.raises(ValueError, match=r"ansatz_kwargs=\{'ring': True\} do not fit ansatz='ry_cnot'"):
        QuantumTrain(t, ansatz_kwargs={"ring": True})
    with pytest.raises(ValueError, match=r"sizes= is set from the target by QuantumTrain"):
        QuantumTrain(t, sizes=[3])


def test_one_mapping_spec_serves_several_models() -> None:
    spec = MLPMapping((4, 20, 4))
    a, b = QuantumTrain(nn.Linear(3, 2), mapping=spec, blocks=1), QuantumTrain(MnistCNN(), mapping=spec, blocks=1)
    assert not spec.bound and a.generator.mapping is not b.generator.mapping
    assert (a.summary().mapping, b.summary().mapping) == (4 * 4 + 4 + 184 + 5, 249)


def test_to_double_recompiles_and_learnable_extras_get_gradients() -> None:
    torch.manual_seed(12)
    qt = QuantumTrain(nn.Linear(6, 2), blocks=2, learn_scale=True, learn_transform=True).double()
    out = qt(torch.randn(3, 6, dtype=torch.float64))
    assert out.dtype == torch.float64 and qt.generator.circuit.real_dtype == torch.float64
    out.square().sum().backward()
    assert (qt.generator.scale.grad != 0).all() and (qt.generator.transform.gamma_beta_alpha.grad != 0).all()
