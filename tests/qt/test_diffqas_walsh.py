"""The Walsh-Hadamard path of the no-H Rx candidates (configs 7, 10) equals the literal circuits."""
from __future__ import annotations

import pytest
import torch

from qtrain.qt.diffqas_space import CANDIDATES, CandidateSimulator, candidate_circuit, entangler_pairs
from qtrain.qt.diffqas_walsh import rx_network_masks, walsh_hadamard, walsh_rx_probs

torch.set_num_threads(1)


def _sylvester(n: int) -> torch.Tensor:
    idx = torch.arange(2**n)
    parity = torch.tensor([[bin(int(i) & int(j)).count("1") % 2 for j in idx] for i in idx])
    return (1 - 2 * parity).to(torch.float64)


@pytest.mark.parametrize("n", [1, 2, 5, 7])
def test_transform_is_the_sylvester_matrix_and_its_own_adjoint(n: int) -> None:
    x = torch.randn(2**n, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(walsh_hadamard(x), _sylvester(n) @ x, rtol=0, atol=1e-12)
    assert torch.autograd.gradcheck(walsh_hadamard, (x,), eps=1e-6, atol=1e-9)


@pytest.mark.parametrize("number", [7, 10])
@pytest.mark.parametrize("n,depth", [(1, 2), (2, 3), (3, 1), (4, 3), (6, 2), (8, 4)])
def test_probabilities_equal_the_literal_circuit(number: int, n: int, depth: int) -> None:
    cand = CANDIDATES[number - 1]
    theta = torch.rand(depth * n, dtype=torch.float64, generator=torch.Generator().manual_seed(n + depth)) * 12 - 6
    ref = candidate_circuit(cand, n, depth).compile(dtype=torch.float64).probs(theta)[0]
    got = walsh_rx_probs(theta, n, depth, entangler_pairs(n, cand.entangler))
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-12)
    assert float(got.sum()) == pytest.approx(1.0, abs=1e-12)


def test_gradient_matches_finite_differences() -> None:
    n, depth = 4, 3
    theta = torch.rand(depth * n, dtype=torch.float64, generator=torch.Generator().manual_seed(0),
                       requires_grad=True)
    probe = torch.linspace(-1, 1, 2**n, dtype=torch.float64)
    pairs = entangler_pairs(n, CANDIDATES[9].entangler)
    assert torch.autograd.gradcheck(lambda t: (walsh_rx_probs(t, n, depth, pairs) * probe).sum(), (theta,),
                                    eps=1e-6, atol=1e-9)


def test_float32_angles_give_float32_probabilities_within_1e_7() -> None:
    n, depth = 9, 5
    theta = torch.rand(depth * n, generator=torch.Generator().manual_seed(3)) * 6
    pairs = entangler_pairs(n, CANDIDATES[6].entangler)
    got = walsh_rx_probs(theta, n, depth, pairs)
    assert got.dtype == torch.float32
    want = walsh_rx_probs(theta.double(), n, depth, pairs)
    assert float((got.double() - want).abs().max()) < 1e-7


def test_masks_follow_the_reversed_network() -> None:
    # 2 wires, one CNOT 0 -> 1; in the H picture CNOT 1 -> 0: wire 0's bit becomes x0 ^ x1
    masks, rows = rx_network_masks(2, 2, [(0, 1)])
    assert masks == [0b10, 0b01, 0b11, 0b01] and rows == [0b10, 0b01]  # two layers: back to the identity


def test_grouped_engine_uses_it_and_caches_the_index_tables() -> None:
    sim = CandidateSimulator(5, 3, [CANDIDATES[6], CANDIDATES[9]])
    theta = torch.rand(1, 15, dtype=torch.float64)
    sim.probs(theta)
    sim.probs(theta)
    assert len(sim._walsh) == 2  # one table per entangler, reused by the second call


def test_non_power_of_two_length_is_refused() -> None:
    with pytest.raises(ValueError) as exc:
        walsh_hadamard(torch.zeros(6))
    assert str(exc.value) == "walsh_hadamard takes a vector of length 2**n, got shape (6,)"
