"""The DiffQAS-QT search space: 12 candidate circuits and their probabilities in few simulator calls.

Paper: "Differentiable Quantum Architecture Search in Quantum-Enhanced Neural Network Parameter
Generation" (DiffQAS-QT), Sec. V and Table I. A candidate is {Hadamard layer at initialisation: yes /
no} x {entangler: "Ent" CNOT chain 0->1->...->n-1, or "Cyc" the chain closed by CNOT(n-1, 0)} x
{rotation Rx / Ry / Rz}. Each of the ``depth`` layers applies the rotation to every wire (angle
``theta[d, q]``) and then the entangler. Table I numbers them 1-6 with H, 7-12 without; within
each half Ent-Rx, Ent-Ry, Ent-Rz, Cyc-Rx, Cyc-Ry, Cyc-Rz.

Exact shortcuts (each is tested against the plain simulation of the literal circuit):

* H + Rx and H + Rz (configs 1, 3, 4, 6): |+>^n is an eigenstate of every Rx and unchanged by CNOTs;
  Rz and CNOTs only rephase and permute a uniform superposition. Probabilities: uniform ``2**-n``.
* no H + Rz (configs 9, 12): |0...0> only picks up phases. Probabilities: all mass on basis state 0.
* H + Ry (configs 2, 5): ``H|0> = Ry(pi/2)|0>``, so the H layer is a ``+pi/2`` shift of the first
  layer's angles and the candidate runs on the real no-H program.
* no H + Rx (configs 7, 10): in the Hadamard basis the circuit is Rz phases and reversed CNOTs, so
  its probabilities are two Walsh-Hadamard transforms (:mod:`qtrain.qt.diffqas_walsh`), ``O(n 2**n)``
  instead of ``depth`` layers of a complex statevector.

So the 12 candidates need at most 4 native runs of 2 compiled real programs (Ry x Ent/Cyc) and two
Walsh paths; the angle-free six cost nothing. ``engine="batched"`` instead runs
all of them as one per-sample simulation (candidates on the batch axis, the structure fed by
per-sample inputs); ``engine="separate"`` compiles the 12 literal circuits.

Example:
    >>> import torch
    >>> sim = CandidateSimulator(3, 2)
    >>> p = sim.probs(torch.zeros(1, 6))
    >>> p.shape, [round(float(v), 3) for v in p[:, 0]][:3]
    (torch.Size([12, 8]), [0.125, 0.125, 0.125])
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import Tensor

from qtrain.choices import ChoiceEnum, argument
from qtrain.qt.diffqas_walsh import walsh_rx_probs
from qtrain.sim import Circuit, CompiledCircuit, Input

__all__ = ["Rotation", "Entangler", "SearchEngine", "Candidate", "CANDIDATES", "candidate_circuit", "entangler_pairs",
           "batched_circuit", "batched_inputs", "parse_candidates", "CandidateSimulator"]


class Rotation(str, enum.Enum):
    """The trainable single-qubit rotation of a candidate."""

    RX = "rx"
    RY = "ry"
    RZ = "rz"


class Entangler(str, enum.Enum):
    """The CNOT entangler after each rotation layer."""

    ENT = "Ent"  # chain 0->1, 1->2, ..., (n-2)->(n-1)
    CYC = "Cyc"  # the chain, then (n-1)->0


@argument("engine")
class SearchEngine(ChoiceEnum):
    """How the candidates' probabilities are computed (results agree to rounding)."""

    GROUPED = "grouped"  # closed forms, Walsh paths, one native run per Ry candidate (fastest)
    BATCHED = "batched"  # one simulation, candidates on the batch axis, structure as per-sample inputs
    SEPARATE = "separate"  # the literal circuits, one simulation each (reference)


@dataclass(frozen=True)
class Candidate:
    """One of the 12 architectures (Table I column ``number``)."""

    number: int
    hadamard: bool
    entangler: Entangler
    rotation: Rotation

    @property
    def label(self) -> str:
        """``"H-Ent-Rx"`` style name."""
        return f"{'H' if self.hadamard else 'N'}-{self.entangler.value}-{self.rotation.value.capitalize()}"

    @property
    def closed_form(self) -> str | None:
        """``"uniform"``, ``"zero"`` (all mass on |0...0>) or None when the probabilities depend on the angles."""
        if self.hadamard and self.rotation is not Rotation.RY:
            return "uniform"
        if not self.hadamard and self.rotation is Rotation.RZ:
            return "zero"
        return None


CANDIDATES: tuple[Candidate, ...] = tuple(
    Candidate(1 + 6 * (not h) + 3 * ei + ri, h, ent, rot)
    for h in (True, False) for ei, ent in enumerate(Entangler) for ri, rot in enumerate(Rotation))
"""Table I: configs 1-6 with the H layer, 7-12 without; Ent Rx/Ry/Rz then Cyc Rx/Ry/Rz in each half."""


def parse_candidates(numbers: Sequence[int] | None) -> tuple[Candidate, ...]:
    """Candidates by Table I number (None: all 12, in order).

    Raises:
        ValueError: an empty, repeated or out-of-range selection.
    """
    if numbers is None:
        return CANDIDATES
    nums = [int(k) for k in numbers]
    bad = [k for k in nums if not 1 <= k <= 12]
    if not nums or bad or len(set(nums)) != len(nums):
        raise ValueError(f"candidates={list(numbers)!r} must be distinct Table I numbers in 1..12 "
                         "(None: all 12), e.g. (2,) for one fixed configuration")
    return tuple(CANDIDATES[k - 1] for k in nums)


def _check_size(n_qubits: int, depth: int) -> None:
    if not isinstance(n_qubits, int) or isinstance(n_qubits, bool) or n_qubits < 1:
        raise ValueError(f"n_qubits={n_qubits!r} must be a positive integer")
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
        raise ValueError(f"depth={depth!r} must be a positive integer (rotation + entangler layers)")


def entangler_pairs(n_qubits: int, entangler: Entangler) -> list[tuple[int, int]]:
    """The entangler's CNOTs ``(control, target)`` in order: the chain, then the ring's closing pair."""
    pairs = [(q, q + 1) for q in range(n_qubits - 1)]
    if entangler is Entangler.CYC and n_qubits > 2:  # for two qubits the ring would repeat the chain's pair
        pairs.append((n_qubits - 1, 0))
    return pairs


def _entangle(c: Circuit, entangler: Entangler) -> None:
    for control, target in entangler_pairs(c.n_qubits, entangler):
        c.cnot(control, target)


def candidate_circuit(cand: Candidate, n_qubits: int, depth: int, *, hadamard: bool | None = None) -> Circuit:
    """The literal circuit of ``cand``: optional H layer, then ``depth`` x (rotations, entangler).

    Weight ``d * n_qubits + q`` is layer ``d``'s angle on wire ``q``. ``hadamard=False`` drops
    the H layer whatever the candidate says (the grouped engine's core programs).

    Example:
        >>> candidate_circuit(CANDIDATES[1], 4, 3).n_params   # config 2: H-Ent-Ry
        12
    """
    _check_size(n_qubits, depth)
    c = Circuit(n_qubits)
    if cand.hadamard if hadamard is None else hadamard:
        for q in range(n_qubits):
            c.h(q)
    for d in range(depth):
        for q in range(n_qubits):
            c.add(cand.rotation.value, q, (d * n_qubits + q,))
        _entangle(c, cand.entangler)
    return c


def batched_circuit(n_qubits: int, depth: int) -> Circuit:
    """One circuit for every candidate: structure from per-sample inputs ``[h, e, sx, sy]``.

    Exact identities (up to global phases): ``H = Ry(pi/2) Rz(pi)``; ``Rx(t) = Ry(pi/2) Rz(t) Ry(-pi/2)``
    and ``Ry(t) = Rx(-pi/2) Rz(t) Rx(pi/2)``, so a shared ``Rz(theta)`` between per-sample basis
    changes is Rx (``sx=1``), Ry (``sy=1``) or Rz (both 0); ``CNOT = Phase(pi/2)_c CRX(pi)``,
    so the ring's closing CNOT is ``CRX(pi e)`` and ``Phase(pi e / 2)`` on the control.
    Consecutive single-qubit gates fuse into one per-sample 2x2 per wire.
    """
    _check_size(n_qubits, depth)
    n, pi = n_qubits, math.pi
    c = Circuit(n)
    for q in range(n):
        c.rz(q, Input(0, pi)).ry(q, Input(0, pi / 2))
    for d in range(depth):
        for q in range(n):
            c.ry(q, Input(2, -pi / 2)).rx(q, Input(3, pi / 2)).rz(q, d * n + q)
            c.rx(q, Input(3, -pi / 2)).ry(q, Input(2, pi / 2))
        for q in range(n - 1):
            c.cnot(q, q + 1)
        if n > 2:
            c.crx(n - 1, 0, Input(1, pi)).phase(n - 1, Input(1, pi / 2))
    return c


def batched_inputs(cands: Sequence[Candidate]) -> Tensor:
    """Per-sample structure inputs ``(K, 4)`` = ``[h, e, sx, sy]`` of :func:`batched_circuit`."""
    rows = [[float(c.hadamard), float(c.entangler is Entangler.CYC), float(c.rotation is Rotation.RX),
             float(c.rotation is Rotation.RY)] for c in cands]
    return torch.tensor(rows, dtype=torch.float64)


class CandidateSimulator:
    """Probabilities of selected candidates for given angles. Holds compiled circuits, no trainable state.

    Args:
        n_qubits: circuit width.
        depth: rotation + entangler layers.
        candidates: the candidates (default: all 12).
        engine: ``"grouped"`` (default), ``"batched"`` or ``"separate"``.
        diff_method: the simulator's gradient method.

    Shapes:
        ``probs(angles)``: angles ``(1, depth * n)`` (shared) or ``(K, depth * n)`` (one row per
        candidate) -> ``(K, 2**n)`` in the order of ``candidates``.
    """

    def __init__(self, n_qubits: int, depth: int, candidates: Sequence[Candidate] = CANDIDATES,
                 engine: str | SearchEngine = "grouped", diff_method: str = "adjoint") -> None:
        _check_size(n_qubits, depth)
        self.n_qubits, self.depth = n_qubits, depth
        self.candidates = tuple(candidates)
        self.engine = SearchEngine.parse(engine)
        self.diff_method = diff_method
        self._compiled: dict[tuple, CompiledCircuit] = {}

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state["_compiled"] = {}  # pickles (A3C workers) and deep copies recompile on first use
        state["_walsh"] = {}
        return state

    @property
    def n_angles(self) -> int:
        """Angles of one candidate: ``depth * n_qubits``."""
        return self.depth * self.n_qubits

    def _program(self, key: tuple, build: Callable[[], Circuit], like: Tensor) -> CompiledCircuit:
        """Compiled on first use for the angles' device and precision (19 qubits: seconds)."""
        f64 = like.dtype == torch.float64
        full = (key, like.device, f64)
        if full not in self._compiled:
            with torch.inference_mode(False):
                self._compiled[full] = build().compile(
                    diff_method=self.diff_method, dtype=torch.float64 if f64 else None, device=like.device)
        return self._compiled[full]

    def _check_angles(self, angles: Tensor) -> Tensor:
        k = len(self.candidates)
        if angles.dim() != 2 or angles.shape[1] != self.n_angles or angles.shape[0] not in (1, k):
            raise ValueError(f"angles must have shape (1, {self.n_angles}) (shared) or ({k}, {self.n_angles}) "
                             f"(one row per candidate), got {tuple(angles.shape)}")
        return angles.expand(k, -1) if angles.shape[0] == 1 else angles

    def probs(self, angles: Tensor) -> Tensor:
        """Probabilities ``(K, 2**n)`` of the candidates (see the class docstring)."""
        rows = self._check_angles(angles)
        if self.engine is SearchEngine.SEPARATE:
            return torch.cat([self._separate(c, rows[i]) for i, c in enumerate(self.candidates)])
        if self.engine is SearchEngine.BATCHED:
            return self._batched(rows, angles.shape[0] == 1)
        return torch.cat([self._grouped(c, rows[i]) for i, c in enumerate(self.candidates)])

    def _separate(self, cand: Candidate, theta: Tensor) -> Tensor:
        cc = self._program(("separate", cand.number),
                           lambda: candidate_circuit(cand, self.n_qubits, self.depth), theta)
        return cc.probs(theta).to(theta.dtype)

    def _grouped(self, cand: Candidate, theta: Tensor) -> Tensor:
        dim = 2**self.n_qubits
        if cand.closed_form == "uniform":
            return torch.full((1, dim), 1.0 / dim, dtype=theta.dtype, device=theta.device)
        if cand.closed_form == "zero":
            out = torch.zeros(1, dim, dtype=theta.dtype, device=theta.device)
            out[0, 0] = 1.0
            return out
        if cand.rotation is Rotation.RX:  # no H + Rx: two Walsh-Hadamard transforms (qtrain.qt.diffqas_walsh)
            pairs = entangler_pairs(self.n_qubits, cand.entangler)
            # index tables of the Walsh path, made on first use (also for simulators pickled by an older qtrain)
            cache: dict[tuple, tuple[Tensor, Tensor]] = self.__dict__.setdefault("_walsh", {})
            return walsh_rx_probs(theta, self.n_qubits, self.depth, pairs, cache)[None]
        if cand.hadamard:  # H-Ry: H|0> = Ry(pi/2)|0>, folded into the first layer's angles
            shift = torch.zeros_like(theta)
            shift[: self.n_qubits] = math.pi / 2
            theta = theta + shift
        cc = self._program(("core", cand.rotation, cand.entangler),
                           lambda: candidate_circuit(cand, self.n_qubits, self.depth, hadamard=False), theta)
        return cc.probs(theta).to(theta.dtype)

    def _batched(self, rows: Tensor, shared: bool) -> Tensor:
        cc = self._program(("batched",), lambda: batched_circuit(self.n_qubits, self.depth), rows)
        x = batched_inputs(self.candidates).to(device=rows.device, dtype=rows.dtype)
        if shared:
            return cc.probs(rows[0], x).to(rows.dtype)
        # the batched circuit's angles are weights shared by all its samples, so per-candidate
        # angles take one run per candidate (each on its own structure input)
        return torch.cat([cc.probs(rows[i], x[i:i + 1]) for i in range(rows.shape[0])]).to(rows.dtype)
