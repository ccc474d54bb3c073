"""Density-matrix simulation with noise: ``rho -> U rho U^H`` per op, then the op's Kraus channels.

rho is kept flat, ``(B, 4**n)``, read as a ``2n``-qubit tensor: row bits are axes ``0..n-1``
(qubit 0 most significant, as everywhere in qtrain) and column bits are axes ``n..2n-1``. A gate
``U`` on ``wires`` is ``U`` on the row axes and ``conj(U)`` on the column axes; a single-qubit
channel is its superoperator ``sum_i K_i (x) conj(K_i)`` on the axis pair ``(w, n + w)``. The
gate matrices are the same ``Gate.matrix`` data the statevector executor uses, and two-qubit
gates go through the shared kernel :func:`qtrain.sim.apply.apply_2q`.

Gradients are plain torch autograd (backprop): memory grows with depth (one rho per op).

Example:
    >>> import torch
    >>> from qtrain.sim import Circuit
    >>> from qtrain.sim.noise import NoiseModel, Depolarizing
    >>> c = Circuit(2).h(0).cnot(0, 1)
    >>> dm = DensityMatrixCircuit(c, NoiseModel().add(Depolarizing(0.1), gates="cnot"))
    >>> dm.probs().shape, round(float(dm.density()[0].trace().real), 6)
    (torch.Size([1, 4]), 1.0)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from qtrain.sim import measure
from qtrain.sim.apply import apply_2q
from qtrain.sim.circuit import Circuit
from qtrain.sim.gates import Gate
from qtrain.sim.memory import check_state_fits
from qtrain.sim.noise import NoiseModel
from qtrain.sim.ops import Input, Op
from qtrain.sim.params import prepare_arguments

__all__ = ["DensityMatrixCircuit", "MAX_DENSITY_QUBITS", "apply_unitary_rho", "apply_superop_rho"]

MAX_DENSITY_QUBITS = 14  # 4**14 entries: 2 GiB per complex64 density matrix

_COMPLEX = {torch.float32: torch.complex64, torch.float64: torch.complex128,
            torch.complex64: torch.complex64, torch.complex128: torch.complex128}
_REAL = {torch.complex64: torch.float32, torch.complex128: torch.float64}
_PAULI = {
    "X": [[0, 1], [1, 0]],
    "Y": [[0, -1j], [1j, 0]],
    "Z": [[1, 0], [0, -1]],
}


# -- kernels on a flat (B, 4**n) density matrix ---------------------------------------------
def apply_superop_rho(rho: Tensor, n: int, wire: int, sop: Tensor) -> Tensor:
    """Apply a single-qubit superoperator ``(4, 4)`` or per-sample ``(B, 4, 4)`` to ``wire``.

    ``sop`` acts on the (row bit, column bit) pair of ``wire``, row bit most significant, so a
    unitary ``U`` is ``kron(U, conj(U))`` and a channel is ``sum_i kron(K_i, conj(K_i))``.
    """
    b = rho.shape[0]
    # Row bit `wire` is axis `wire`; column bit `wire` is axis n + wire; 2**(n-1) bits lie between.
    r = rho.view(b, 2**wire, 2, 2 ** (n - 1), 2, 2 ** (n - 1 - wire))
    s = sop.reshape(*sop.shape[:-2], 2, 2, 2, 2)
    eq = "rcst,basmtz->barmcz" if sop.dim() == 2 else "brcst,basmtz->barmcz"
    return torch.einsum(eq, s, r).reshape(b, -1)


def apply_unitary_rho(rho: Tensor, n: int, wires: tuple[int, ...], mat: Tensor) -> Tensor:
    """``U rho U^H`` for a 1- or 2-qubit ``mat`` (shared ``(d, d)`` or per-sample ``(B, d, d)``)."""
    if len(wires) == 1:
        return apply_superop_rho(rho, n, wires[0], _kron_conj(mat))
    rho = apply_2q(rho, 2 * n, (wires[0], wires[1]), mat)
    return apply_2q(rho, 2 * n, (n + wires[0], n + wires[1]), mat.conj())


def _kron_conj(u: Tensor) -> Tensor:
    """``kron(u, conj(u))`` for ``(..., 2, 2)`` -> ``(..., 4, 4)``."""
    return torch.einsum("...ij,...ab->...iajb", u, u.conj()).reshape(*u.shape[:-2], 4, 4)


# -- parameter gathering ----------------------------------------------------------------------
@dataclass
class _Group:
    """Ops of one gate type, all shared or all per-sample: one vectorised ``Gate.matrix`` call."""

    gate: Gate
    per_sample: bool
    positions: list[int]
    index: dict[str, Tensor]


def _group_ops(ops: Sequence[Op], real_dtype: torch.dtype, device: torch.device) -> list[_Group]:
    found: dict[tuple[str, bool], list[int]] = {}
    for i, op in enumerate(ops):
        found.setdefault((op.gate.name, any(isinstance(p, Input) for p in op.params)), []).append(i)
    groups = []
    for (_, ps), pos in found.items():
        gate = ops[pos[0]].gate
        shape = (len(pos), gate.n_params)
        ix = dict(widx=torch.zeros(shape, dtype=torch.int64), wmask=torch.zeros(shape, dtype=torch.bool),
                  xidx=torch.zeros(shape, dtype=torch.int64), xscale=torch.zeros(shape, dtype=real_dtype),
                  const=torch.zeros(shape, dtype=real_dtype))
        for i, k in enumerate(pos):
            for j, p in enumerate(ops[k].params):
                if isinstance(p, Input):
                    ix["xidx"][i, j], ix["xscale"][i, j] = p.index, p.scale
                elif isinstance(p, int):
                    ix["widx"][i, j], ix["wmask"][i, j] = p, True
                else:
                    ix["const"][i, j] = p
        groups.append(_Group(gate, ps, pos, {k: v.to(device) for k, v in ix.items()}))
    return groups


class DensityMatrixCircuit:
    """A circuit run on a density matrix, with an optional :class:`~qtrain.sim.noise.NoiseModel`.

    Methods mirror :class:`qtrain.sim.CompiledCircuit` (``probs``, ``marginal_probs``, ``expval``)
    plus :meth:`density`. Gradients: torch autograd. The noise model is read at every call, so a
    changed ``noise.scale`` takes effect on the next call.

    Args:
        circuit: the description (at most :data:`MAX_DENSITY_QUBITS` qubits).
        noise: channels after gates; None runs the noiseless (mixed-state-capable) evolution.
        dtype: ``complex64`` (default) or ``complex128`` (``float32``/``float64`` are promoted).
        device: where rho lives (default CPU).

    Example:
        >>> import torch
        >>> from qtrain.sim import Circuit
        >>> from qtrain.sim.noise import NoiseModel, BitFlip
        >>> dm = DensityMatrixCircuit(Circuit(1).i(0), NoiseModel().add(BitFlip(0.25)))
        >>> round(float(dm.expval()[0, 0]), 6)
        0.5
    """

    def __init__(self, circuit: Circuit, noise: NoiseModel | None = None, dtype: torch.dtype = torch.complex64,
                 device: torch.device | str | None = None) -> None:
        n = circuit.n_qubits
        if n > MAX_DENSITY_QUBITS:
            raise ValueError(
                f"DensityMatrixCircuit supports at most {MAX_DENSITY_QUBITS} qubits (rho has 4**n entries; "
                f"4**{n} complex64 entries need {8 * 4**n / 2**30:.0f} GiB); got a {n}-qubit circuit. "
                "Use circuit.compile() (statevector) for noiseless runs of this size"
            )
        if dtype not in _COMPLEX:
            raise ValueError(f"dtype={dtype} is not supported; use complex64 or complex128 (or float32/float64)")
        if noise is not None and not isinstance(noise, NoiseModel):
            raise ValueError(f"noise={noise!r} must be a qtrain.sim.noise.NoiseModel or None")
        self.circuit = circuit
        self.noise = noise
        self.n_qubits = n
        self.n_params = circuit.n_params
        self.n_inputs = circuit.n_inputs
        self.dtype = _COMPLEX[dtype]
        self.real_dtype = _REAL[self.dtype]
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self._groups = _group_ops(circuit.ops, self.real_dtype, self.device)
        self._noise_plan()  # validate the model's wires and probabilities now

    # -- parameters -> matrices -> rho ------------------------------------------------------
    def _prepare(self, weights: Tensor | None, inputs: Tensor | None) -> tuple[Tensor, Tensor | None, int]:
        weights, inputs, b = prepare_arguments(weights, inputs, n_params=self.n_params, n_inputs=self.n_inputs,
                                               dtype=self.real_dtype, device=self.device)
        check_state_fits(2 * self.n_qubits, b, self.dtype, self.device, copies=4)
        return weights, inputs, b

    def _matrices(self, weights: Tensor, inputs: Tensor | None) -> list[Tensor]:
        """One matrix per op: ``(d, d)`` shared or ``(B, d, d)`` per-sample."""
        out: list[Tensor] = [torch.empty(0)] * len(self.circuit.ops)
        for grp in self._groups:
            if grp.gate.n_params == 0:
                m = grp.gate.matrix(None).to(dtype=self.dtype, device=self.device)
                for k in grp.positions:
                    out[k] = m
                continue
            ix = grp.index
            vals = torch.where(ix["wmask"], weights[ix["widx"]], ix["const"]) if weights.numel() else ix["const"]
            if grp.per_sample:
                vals = vals + inputs[:, ix["xidx"]] * ix["xscale"]  # type: ignore[index]
            m = grp.gate.matrix(vals).to(dtype=self.dtype, device=self.device)
            for i, k in enumerate(grp.positions):
                out[k] = m[..., i, :, :]
        return out

    def _noise_plan(self) -> list[list[tuple[Tensor, int]]]:
        """Per op, the ``(superoperator, wire)`` pairs applied right after it."""
        if self.noise is None:
            return [[] for _ in self.circuit.ops]
        if self.noise.max_wire() >= self.n_qubits:
            raise ValueError(
                f"the noise model names wire {self.noise.max_wire()} but the circuit has {self.n_qubits} "
                f"qubit(s); restrict rules to wires 0..{self.n_qubits - 1}"
            )
        cache: dict[int, Tensor] = {}
        plan = []
        for op in self.circuit.ops:
            entries = []
            for ch, w in self.noise.after(op.gate, op.wires):
                if id(ch) not in cache:
                    cache[id(ch)] = ch.superop(self.noise.scale, dtype=self.dtype, device=self.device)
                entries.append((cache[id(ch)], w))
            plan.append(entries)
        return plan

    def _run(self, weights: Tensor, inputs: Tensor | None, b: int) -> Tensor:
        n = self.n_qubits
        rho = torch.zeros(b, 4**n, dtype=self.dtype, device=self.device)
        rho[:, 0] = 1
        for op, mat, chans in zip(self.circuit.ops, self._matrices(weights, inputs), self._noise_plan()):
            if len(op.wires) == 1:
                # Fuse the gate and the channels on its wire into one 4x4 superoperator.
                sop = _kron_conj(mat)
                for s, _ in chans:
                    sop = s @ sop
                rho = apply_superop_rho(rho, n, op.wires[0], sop)
                continue
            rho = apply_unitary_rho(rho, n, op.wires, mat)
            for s, w in chans:
                rho = apply_superop_rho(rho, n, w, s)
        return rho

    # -- public API -------------------------------------------------------------------------
    def density(self, weights: Tensor | None = None, inputs: Tensor | None = None) -> Tensor:
        """Final density matrices ``(B, 2**n, 2**n)`` (row/column index: qubit 0 most significant)."""
        w, x, b = self._prepare(weights, inputs)
        return self._run(w, x, b).view(b, 2**self.n_qubits, 2**self.n_qubits)

    def _probs(self, weights: Tensor | None, inputs: Tensor | None, shots: int | None,
               generator: torch.Generator | None) -> Tensor:
        w, x, b = self._prepare(weights, inputs)
        if shots is not None and torch.is_grad_enabled() and (w.requires_grad or (x is not None and x.requires_grad)):
            raise ValueError(
                "finite-shot estimates are not differentiable; DensityMatrixCircuit differentiates by "
                "backprop, so call probs without shots to train (or wrap the call in torch.no_grad())"
            )
        p = self._run(w, x, b)[:, :: 2**self.n_qubits + 1].real  # the diagonal of rho
        if shots is None:
            return p
        return measure.sample_counts(p, shots, generator).to(p.dtype) / shots

    def probs(self, weights: Tensor | None = None, inputs: Tensor | None = None, *,
              shots: int | None = None, generator: torch.Generator | None = None) -> Tensor:
        """Basis-state probabilities ``(B, 2**n)`` (diagonal of rho); with ``shots``, the estimate."""
        return self._probs(weights, inputs, shots, generator)

    def marginal_probs(self, weights: Tensor | None, wires: Sequence[int], inputs: Tensor | None = None, *,
                       shots: int | None = None, generator: torch.Generator | None = None) -> Tensor:
        """Probabilities of the chosen wires ``(B, 2**len(wires))``, first wire most significant."""
        ws = measure.check_wires(wires, self.n_qubits)
        return measure.marginal(self._probs(weights, inputs, shots, generator), self.n_qubits, ws)

    def expval(self, weights: Tensor | None = None, wires: Sequence[int] | None = None,
               inputs: Tensor | None = None, *, observable: str = "Z") -> Tensor:
        """Single-qubit Pauli expectations ``Tr(rho P_w)``, ``(B, len(wires))`` (default: every wire)."""
        ws = measure.check_wires(range(self.n_qubits) if wires is None else wires, self.n_qubits)
        obs = str(observable).upper()
        if obs not in _PAULI:
            raise ValueError(f"observable={observable!r} is not supported; use one of {list(_PAULI)}")
        w, x, b = self._prepare(weights, inputs)
        rho = self._run(w, x, b)
        pauli = torch.tensor(_PAULI[obs], dtype=self.dtype, device=self.device)
        n, cols = self.n_qubits, []
        for q in ws:
            r = rho.view(b, 2**q, 2, 2 ** (n - 1 - q), 2**q, 2, 2 ** (n - 1 - q))
            cols.append(torch.einsum("baxcayc,yx->b", r, pauli).real)
        return torch.stack(cols, dim=1)

    def __repr__(self) -> str:
        return f"DensityMatrixCircuit(n_qubits={self.n_qubits}, ops={len(self.circuit.ops)}, noise={self.noise!r})"
