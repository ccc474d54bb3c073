"""Quantum information on density matrices: states built from data, entropies, quantum relative entropy.

The V2X paper (arXiv 003, Sec. III-C) measures semantic distortion with the quantum relative
entropy between the states of the source and of the reconstruction. This module makes that
measurable:

* :func:`density_from_rows` -- a data matrix ``X`` (``r`` rows of ``d`` values, e.g. the rows
  of an image) becomes ``rho = (1 - eps) X^T X / tr(X^T X) + eps I / d``: the normalised mixture
  of its row states, mixed with ``eps`` of the maximally mixed state so that it is full rank.
* :func:`von_neumann_entropy` -- ``S(rho) = -tr(rho log rho)``.
* :func:`relative_entropy` -- ``S(rho || sigma) = tr(rho log rho) - tr(rho log sigma)``: ``>= 0``
  (Klein's inequality), ``0`` iff ``rho == sigma``, finite whenever ``sigma`` is full rank and
  ``+inf`` when ``rho`` has weight on the kernel of ``sigma``.
* :func:`logm_h` -- the matrix logarithm of Hermitian positive-definite matrices with a backward
  pass that stays finite for repeated eigenvalues (``eps I / d`` makes them common).

Example:
    >>> import torch
    >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> rho = density_from_rows(x, eps=0.0)
    >>> rho
    tensor([[0.5000, 0.0000],
            [0.0000, 0.5000]])
    >>> round(float(von_neumann_entropy(rho)), 4)   # log 2
    0.6931
    >>> float(relative_entropy(rho, rho))
    0.0
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["density_from_rows", "logm_h", "von_neumann_entropy", "relative_entropy", "check_density"]


def _eps_tol(dtype: torch.dtype) -> float:
    return 1e-10 if dtype in (torch.float64, torch.complex128) else 1e-5


def check_density(rho: Tensor, name: str = "rho", atol: float | None = None) -> None:
    """Raise ``ValueError`` unless ``rho`` ``(..., d, d)`` is a batch of density matrices.

    Checks: square last two dims, finite, Hermitian, unit trace, no eigenvalue below ``-atol``.
    """
    if not isinstance(rho, Tensor) or rho.dim() < 2 or rho.shape[-1] != rho.shape[-2]:
        shape = tuple(rho.shape) if isinstance(rho, Tensor) else type(rho).__name__
        raise ValueError(f"{name} has shape {shape}; expected (..., d, d) square matrices")
    tol = atol if atol is not None else 100 * _eps_tol(rho.dtype)
    if not bool(torch.isfinite(rho).all()):
        raise ValueError(f"{name} holds NaN or inf entries; build it from finite data")
    herm = (rho - rho.mH).abs().amax()
    if float(herm) > tol:
        raise ValueError(f"{name} is not Hermitian (max |rho - rho^H| = {float(herm):.3g} > {tol:.1g})")
    tr = torch.diagonal(rho, dim1=-2, dim2=-1).sum(-1).real
    if float((tr - 1).abs().amax()) > tol:
        raise ValueError(f"{name} has trace {tr.flatten()[0].item():.6g}; a density matrix has trace 1 "
                         "(divide by its trace)")
    low = float(torch.linalg.eigvalsh(rho.detach()).amin())
    if low < -tol:
        raise ValueError(f"{name} has a negative eigenvalue {low:.3g}; a density matrix is positive semi-definite")


def density_from_rows(x: Tensor, eps: float = 0.05) -> Tensor:
    """Density matrices from data matrices: ``(..., r, d)`` -> ``(..., d, d)``.

    ``rho = (1 - eps) G / tr(G) + eps I / d`` with the Gram matrix ``G = X^T X`` (``X^H X`` when
    complex): the uniform mixture of the (unnormalised) row states ``|x_i>``, weighted by their
    squared norms. An all-zero ``X`` gives ``I / d``. With ``eps > 0`` every eigenvalue is at
    least ``eps / d``, so relative entropies between such states are finite.

    Args:
        x: ``(..., r, d)`` data, e.g. ``(B, 8, 8)`` images read as 8 rows of 8 pixels. A vector
            ``(..., d)`` can be passed as ``x.unsqueeze(-2)`` (a pure state before mixing).
        eps: weight of the maximally mixed state, in ``[0, 1]``.

    Example:
        >>> rho = density_from_rows(torch.rand(3, 8, 8))
        >>> rho.shape, [round(float(t), 5) for t in rho.diagonal(dim1=1, dim2=2).sum(1)]
        (torch.Size([3, 8, 8]), [1.0, 1.0, 1.0])
    """
    if not isinstance(x, Tensor) or x.dim() < 2:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"x has shape {shape}; expected (..., rows, d) data matrices")
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0.0 <= float(eps) <= 1.0:
        raise ValueError(f"eps={eps!r} must be a number in [0, 1] (weight of the maximally mixed state)")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x holds NaN or inf values; density matrices need finite data")
    d = x.shape[-1]
    gram = x.mH @ x
    tr = torch.diagonal(gram, dim1=-2, dim2=-1).sum(-1).real
    eye = torch.eye(d, dtype=gram.dtype, device=gram.device)
    zero = (tr <= 0)[..., None, None]
    # where() keeps the gradient finite at an all-zero X (the other branch is not differentiated).
    safe_tr = torch.where(tr > 0, tr, torch.ones_like(tr))[..., None, None]
    mixed = (1 - float(eps)) * gram / safe_tr + float(eps) * eye / d
    return torch.where(zero, eye / d, mixed)


class _HermFunction(torch.autograd.Function):
    """``V f(L) V^H`` for Hermitian ``A = V L V^H``; backward by Daleckii-Krein divided differences.

    ``dF = V (D o (V^H dA V)) V^H`` with ``D_ij = (f(l_i) - f(l_j)) / (l_i - l_j)`` and
    ``D_ii = f'(l_i)``; close eigenvalues use ``f'`` at their midpoint, so repeated eigenvalues
    (where ``torch.linalg.eigh``'s own backward divides by zero) give the exact finite limit.
    """

    @staticmethod
    def forward(ctx, a: Tensor, floor: float) -> Tensor:  # type: ignore[override]
        lam, vec = torch.linalg.eigh(a)
        lam = lam.clamp_min(floor)
        ctx.save_for_backward(lam, vec)
        return (vec * torch.log(lam).to(vec.dtype)[..., None, :]) @ vec.mH

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        lam, vec = ctx.saved_tensors
        li, lj = lam[..., :, None], lam[..., None, :]
        diff = li - lj
        close = diff.abs() <= 1e-9 * torch.maximum(li.abs(), lj.abs()).clamp_min(1e-300)
        safe = torch.where(close, torch.ones_like(diff), diff)
        dd = torch.where(close, 2.0 / (li + lj), (torch.log(li) - torch.log(lj)) / safe)
        inner = vec.mH @ grad @ vec
        out = vec @ (dd.to(inner.dtype) * inner) @ vec.mH
        return (out + out.mH) / 2, None


def logm_h(a: Tensor) -> Tensor:
    """Matrix logarithm of Hermitian positive-definite ``a`` ``(..., d, d)`` (eigenvalues floored at tiny).

    Only the Hermitian part ``(a + a^H) / 2`` is read; its gradient is finite for repeated eigenvalues.

    Example:
        >>> logm_h(torch.diag(torch.tensor([1.0, math.e]))).diagonal()
        tensor([0.0000, 1.0000])
    """
    herm = (a + a.mH) / 2
    return _HermFunction.apply(herm, torch.finfo(herm.real.dtype).tiny)


def von_neumann_entropy(rho: Tensor) -> Tensor:
    """``S(rho) = -sum_i l_i log l_i`` (natural log, nats) over the eigenvalues: ``(..., d, d)`` -> ``(...)``."""
    lam = torch.linalg.eigvalsh((rho + rho.mH) / 2).clamp_min(0)
    return -torch.special.xlogy(lam, lam).sum(-1)


def relative_entropy(rho: Tensor, sigma: Tensor, validate: bool = False) -> Tensor:
    """Quantum relative entropy ``S(rho || sigma) = tr(rho log rho) - tr(rho log sigma)`` in nats.

    Args:
        rho, sigma: density matrices ``(..., d, d)`` (broadcast against each other).
        validate: check both with :func:`check_density` first (costs an eigendecomposition).

    Returns:
        ``(...)``: non-negative; ``0`` iff ``rho == sigma``; ``+inf`` where ``rho`` has weight
        (``> 1e-12``) on an eigenvector of ``sigma`` with eigenvalue ``<= 0``. The gradient with
        respect to both arguments is finite whenever ``sigma`` is full rank.

    Example:
        >>> p, q = torch.diag(torch.tensor([0.75, 0.25])), torch.eye(2) / 2
        >>> round(float(relative_entropy(p, q)), 6) == round(0.75 * math.log(1.5) + 0.25 * math.log(0.5), 6)
        True
    """
    if validate:
        check_density(rho, "rho")
        check_density(sigma, "sigma")
    if rho.shape[-2:] != sigma.shape[-2:]:
        raise ValueError(f"rho is {tuple(rho.shape[-2:])} but sigma is {tuple(sigma.shape[-2:])}; "
                         "both must be d x d for the same d")
    neg = -von_neumann_entropy(rho)
    log_sigma = logm_h(sigma)
    cross = (rho * log_sigma.mT).sum((-2, -1)).real  # tr(rho log sigma) = sum_ij rho_ij (log sigma)_ji
    out = neg - cross
    with torch.no_grad():
        mu, vec = torch.linalg.eigh((sigma + sigma.mH) / 2)
        weight = torch.einsum("...ji,...jk,...ki->...i", vec.conj(), rho.to(vec.dtype), vec).real
        infinite = ((mu <= 0) & (weight > 1e-12)).any(-1)
    return torch.where(infinite, torch.full_like(out, math.inf), out)
