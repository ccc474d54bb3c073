"""Density matrices from data and the quantum relative entropy (V2X semantic distortion)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from qtrain.sim.qinfo import check_density, density_from_rows, logm_h, relative_entropy, von_neumann_entropy


def _random_state(gen: torch.Generator, d: int, dtype: torch.dtype = torch.float64,
                  rank: int | None = None) -> torch.Tensor:
    a = torch.randn(d, rank or d, generator=gen, dtype=torch.float64)
    if dtype.is_complex:
        a = torch.complex(a, torch.randn(d, rank or d, generator=gen, dtype=torch.float64))
    r = a @ a.mH
    return r / torch.diagonal(r).sum()


def test_density_from_rows_is_a_full_rank_density_matrix() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(5, 8, 8, generator=gen, dtype=torch.float64)
    rho = density_from_rows(x, eps=0.05)
    check_density(rho)
    lam = torch.linalg.eigvalsh(rho)
    assert float(lam.min()) >= 0.05 / 8 - 1e-12
    gram = x[0].T @ x[0]
    torch.testing.assert_close(rho[0], 0.95 * gram / gram.trace() + 0.05 * torch.eye(8, dtype=torch.float64) / 8)
    torch.testing.assert_close(density_from_rows(torch.zeros(2, 3, 4)), torch.eye(4).expand(2, 4, 4) / 4)


def test_relative_entropy_matches_scipy_logm() -> None:
    gen = torch.Generator().manual_seed(1)
    for dtype in (torch.float64, torch.complex128):
        rho, sigma = _random_state(gen, 5, dtype), _random_state(gen, 5, dtype)
        r, s = rho.numpy(), sigma.numpy()
        want = np.trace(r @ (scipy.linalg.logm(r) - scipy.linalg.logm(s))).real
        assert float(relative_entropy(rho, sigma)) == pytest.approx(want, abs=1e-10)
        assert float(von_neumann_entropy(rho)) == pytest.approx(-np.trace(r @ scipy.linalg.logm(r)).real, abs=1e-10)


def test_relative_entropy_is_non_negative_and_zero_iff_equal() -> None:
    gen = torch.Generator().manual_seed(2)
    rho = torch.stack([_random_state(gen, 4) for _ in range(50)])
    sigma = torch.stack([_random_state(gen, 4) for _ in range(50)])
    vals = relative_entropy(rho, sigma)
    assert vals.shape == (50,) and float(vals.min()) > 1e-4  # distinct states: strictly positive
    assert float(relative_entropy(rho, rho).abs().max()) < 1e-10
    # a small step t away: positive and quadratic in t (S ~ c t^2, the Fisher-metric limit)
    eye = torch.eye(4, dtype=torch.float64) / 4
    well = (rho + eye) / 2  # well conditioned, so 1e-3 steps are in the quadratic regime
    s1 = relative_entropy(well, well + 1e-3 * (sigma - well))
    s2 = relative_entropy(well, well + 2e-3 * (sigma - well))
    assert float(s1.min()) > 0
    torch.testing.assert_close(s2 / s1, torch.full_like(s1, 4.0), rtol=2e-2, atol=0)


def test_commuting_states_reduce_to_the_classical_kl_divergence() -> None:
    p, q = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64), torch.tensor([0.2, 0.2, 0.6], dtype=torch.float64)
    kl = float((p * (p / q).log()).sum())
    assert float(relative_entropy(torch.diag(p), torch.diag(q))) == pytest.approx(kl, abs=1e-12)


def test_finite_for_full_rank_and_infinite_outside_the_support() -> None:
    gen = torch.Generator().manual_seed(3)
    x, y = torch.rand(4, 8, 8, generator=gen), torch.rand(4, 8, 8, generator=gen)
    assert bool(torch.isfinite(relative_entropy(density_from_rows(x), density_from_rows(y))).all())
    pure = torch.diag(torch.tensor([1.0, 0.0], dtype=torch.float64))
    mixed = torch.eye(2, dtype=torch.float64) / 2
    assert math.isinf(float(relative_entropy(mixed, pure)))
    assert float(relative_entropy(pure, mixed)) == pytest.approx(math.log(2), abs=1e-12)


def test_gradients_agree_with_finite_differences_and_stay_finite_at_repeated_eigenvalues() -> None:
    gen = torch.Generator().manual_seed(4)
    a = _random_state(gen, 4).requires_grad_()
    b = _random_state(gen, 4).requires_grad_()
    assert torch.autograd.gradcheck(relative_entropy, (a, b))
    c = _random_state(gen, 3, torch.complex128).requires_grad_()
    assert torch.autograd.gradcheck(lambda m: logm_h(m).abs().sum(), (c,))
    # eps * I / d gives a 7-fold repeated eigenvalue: eigh's own backward would divide by zero here
    img = torch.zeros(1, 8, 8, dtype=torch.float64)
    img[0, 0, 0] = 1.0
    sigma = density_from_rows(img).requires_grad_()
    rho = density_from_rows(torch.rand(1, 8, 8, generator=gen, dtype=torch.float64))
    relative_entropy(rho, sigma).sum().backward()
    assert bool(torch.isfinite(sigma.grad).all()) and float(sigma.grad.abs().max()) > 0


def test_bad_inputs_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"eps=1.5 must be a number in \[0, 1\]"):
        density_from_rows(torch.rand(2, 3), eps=1.5)
    with pytest.raises(ValueError, match="x holds NaN or inf"):
        density_from_rows(torch.tensor([[float("nan"), 1.0]]))
    with pytest.raises(ValueError, match=r"rho has trace 2; a density matrix has trace 1"):
        check_density(2 * torch.eye(2, dtype=torch.float64) / 2)
    with pytest.raises(ValueError, match="sigma is not Hermitian"):
        relative_entropy(torch.eye(2) / 2, torch.tensor([[0.5, 0.3], [0.0, 0.5]]), validate=True)
    with pytest.raises(ValueError, match=r"rho is \(2, 2\) but sigma is \(3, 3\)"):
        relative_entropy(torch.eye(2) / 2, torch.eye(3) / 3)
