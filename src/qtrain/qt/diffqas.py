"""DiffQAS-QT: Quantum-Train whose circuit is a learned mixture of 12 candidate architectures.

Paper: "Differentiable Quantum Architecture Search in Quantum-Enhanced Neural Network Parameter
Generation", eq. (5)-(7): ``p = sum_c w_c * p_c(theta)`` with one shared angle array ``theta``
(``depth x n``) and 12 learnable structural weights ``w`` (raw, as in the paper; ``softmax`` as
an option); the mixture feeds the mapping ``Linear(n + 1 -> 1)``. Parameter split (all three match
the paper): ``depth * n`` angles (QNN) + mapping ``n + 2`` + 12 structural weights (extras):

* images, MLP 784-128-64-2 (108,866 weights): 17 qubits, depth 15 -> 255 + 19 + 12 = 286;
* time series, LSTM (1,781): 11 qubits, depth 10 -> 110 + 13 + 12 = 135;
* RL, actor 147-32-32-7 (6,023) or critic 147-32-32-1 (5,825): 13 qubits, depth 10 -> 130 + 15 + 12 = 157.

A single candidate (``candidates=(k,)``) is Table I's fixed configuration ``k`` with no structural
weight (274 trainable for the images MLP). :meth:`DiffQASTrain.derive` turns a search into the
arg-max configuration for retraining alone.

Example:
    >>> import torch
    >>> from torch import nn
    >>> qt = DiffQASTrain(nn.Linear(6, 2), depth=2)
    >>> s = qt.summary(); (s.qnn, s.mapping, s.extras, s.generated)
    (8, 6, 12, 14)
    >>> qt(torch.randn(3, 6)).shape
    torch.Size([3, 2])
    >>> qt.architecture().argmax.number in range(1, 13)
    True
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import Tensor, nn

from qtrain.choices import ChoiceEnum, argument
from qtrain.qt.diffqas_space import Candidate, CandidateSimulator, candidate_circuit, parse_candidates
from qtrain.qt.generator import QuantumParameterGenerator, min_qubits
from qtrain.qt.mapping import MLPMapping
from qtrain.qt.template import materialize
from qtrain.qt.wrapper import QuantumTrain, row_counts

__all__ = ["Weighting", "AsinhTransform", "ArchitectureReport", "DiffQASGenerator", "DiffQASTrain"]


@argument("weighting")
class Weighting(ChoiceEnum):
    """How structural parameters become mixing weights."""

    RAW = "raw"  # the paper: w_c used as they are (initialised to 1/K)
    SOFTMAX = "softmax"  # DARTS-style: softmax of logits (initialised to 0, i.e. 1/K each)


TRANSFORMS = ("asinh", "scaled", "raw", "tanh_power")
"""Probability features of a DiffQAS generator (``qtrain.qt.ProbTransform``'s three, and ``asinh``)."""


class AsinhTransform(nn.Module):
    """``asinh(2**n * p)``: the mapping's probability feature for a DiffQAS mixture.

    Near ``p * 2**n`` (the ``"scaled"`` feature) for typical probabilities, logarithmic for spikes
    and odd: the no-H Rz candidates put all their mass ``w_c`` on basis state 0, i.e. a feature of
    ``w_c * 2**n`` (~11,000 at 17 qubits) that a linear feature passes on to one generated weight and
    to its tensor's calibration (shrinking every other weight of that tensor); raw mixing weights can
    make ``p`` negative, where a power or a log would fail.

    Example:
        >>> AsinhTransform(3)(torch.tensor([0.0, 1 / 8, 1.0]))
        tensor([0.0000, 0.8814, 2.7765])
    """

    def __init__(self, n_qubits: int) -> None:
        super().__init__()
        self.n_qubits = n_qubits

    def forward(self, p: Tensor) -> Tensor:
        return torch.asinh(p * float(2**self.n_qubits))

    def extra_repr(self) -> str:
        return f"n_qubits={self.n_qubits}"


@dataclass(frozen=True)
class ArchitectureReport:
    """Mixing weights per candidate and the arg-max architecture."""

    candidates: tuple[Candidate, ...]
    weights: tuple[float, ...]

    @property
    def argmax(self) -> Candidate:
        """The candidate with the largest mixing weight (ties: the lowest Table I number)."""
        best = max(range(len(self.weights)), key=lambda i: (self.weights[i], -self.candidates[i].number))
        return self.candidates[best]

    def to_dict(self) -> dict[str, Any]:
        """``{"weights": {"1 H-Ent-Rx": w, ...}, "argmax": k, "argmax_label": ...}`` for ``summary.json``."""
        return {"weights": {f"{c.number} {c.label}": w for c, w in zip(self.candidates, self.weights)},
                "argmax": self.argmax.number, "argmax_label": self.argmax.label}

    def __str__(self) -> str:
        rows = [f"{c.number:>3} {c.label:<10}{w:>10.4f}" for c, w in zip(self.candidates, self.weights)]
        return "\n".join(rows + [f"arg-max: config {self.argmax.number} ({self.argmax.label})"])


class DiffQASGenerator(QuantumParameterGenerator):
    """A :class:`QuantumParameterGenerator` whose probabilities are the DiffQAS mixture.

    Args:
        sizes: elements of each generated tensor.
        n_qubits: circuit width (default ``ceil(log2 M)``).
        depth: rotation + entangler layers of every candidate.
        candidates: Table I numbers to mix (default all 12); one number is a fixed configuration.
        weighting: ``"raw"`` (paper) or ``"softmax"``.
        shared_angles: one angle array for all candidates (paper) or one per candidate.
        engine: ``"grouped"`` (closed forms, Walsh paths + native runs), ``"batched"`` or ``"separate"``.
        mapping: default ``Linear(n + 1 -> 1)`` (the paper's counts); any mapping module works.
        bits, transform, center, reference, calibrate, learn_scale, diff_method, dtype, device:
            as in :class:`QuantumParameterGenerator`, plus ``transform="asinh"``
            (:class:`AsinhTransform`); defaults ``bits="01"`` (the paper's binary labels) and
            ``transform="scaled"`` (``p * 2**n``): a raw ``p ~ 2**-n`` through a linear mapping would
            barely move. ``"asinh"`` keeps the |0...0> spike of the no-H Rz candidates out of the
            calibration but measured no better (benchmarks/results/diffqas_transform.md).

    Shapes:
        ``forward() -> (M,)``; :meth:`candidate_probs` -> ``(K, n_groups)``.
    """

    def __init__(self, sizes: int | Sequence[int], n_qubits: int | None = None, depth: int = 10,
                 candidates: Sequence[int] | None = None, *, weighting: str = "raw", shared_angles: bool = True,
                 engine: str = "grouped", mapping: nn.Module | None = None, bits: str = "01",
                 transform: str = "scaled", diff_method: str = "adjoint", dtype: torch.dtype = torch.float32,
                 device: torch.device | str | None = None, **kwargs: Any) -> None:
        cands = parse_candidates(candidates)
        total = sizes if isinstance(sizes, int) else sum(int(s) for s in sizes)
        n = min_qubits(int(total)) if n_qubits is None else n_qubits
        if transform not in TRANSFORMS:
            raise ValueError(f"transform={transform!r} is unknown; use one of {list(TRANSFORMS)}")
        asinh = transform == "asinh"
        super().__init__(sizes, n_qubits, ansatz=candidate_circuit(cands[0], n, depth), blocks=depth,
                         mapping=MLPMapping(()) if mapping is None else mapping, n_per_state=1, bits=bits,
                         transform="raw" if asinh else transform, diff_method=diff_method, dtype=dtype,
                         device=device, **kwargs)
        if asinh:
            self.transform = AsinhTransform(self.n_qubits)
        self.weighting = Weighting.parse(weighting)
        self.shared_angles = bool(shared_angles)
        self.depth = depth
        self.space = CandidateSimulator(self.n_qubits, depth, cands, engine, diff_method)
        k = len(cands)
        if not self.shared_angles and k > 1:
            angles = torch.empty(k, depth * self.n_qubits, dtype=dtype, device=self.qnn_weights.device)
            self.qnn_weights = nn.Parameter(angles.uniform_(-math.pi, math.pi))
        init = torch.full((k,), 1.0 / k if self.weighting is Weighting.RAW else 0.0, dtype=dtype,
                          device=self.qnn_weights.device)
        if k > 1:
            self.structural_weights = nn.Parameter(init)
        else:  # a fixed configuration: nothing to learn about the structure
            self.register_buffer("structural_weights", torch.ones(1, dtype=dtype, device=init.device))

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_circuit_desc"] = None  # its gates hold local matrix functions: rebuilt when unpickled
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if self._circuit_desc is None:
            self._circuit_desc = candidate_circuit(self.candidates[0], self.n_qubits, self.depth)

    @property
    def candidates(self) -> tuple[Candidate, ...]:
        """The mixed candidates, in order."""
        return self.space.candidates

    def mixing_weights(self) -> Tensor:
        """``w`` of ``p = sum_c w_c p_c``: ``(K,)``."""
        if self.weighting is Weighting.SOFTMAX and len(self.candidates) > 1:
            return torch.softmax(self.structural_weights, 0)
        return self.structural_weights

    def candidate_probs(self) -> Tensor:
        """Probabilities of the first ``n_groups`` basis states for every candidate: ``(K, n_groups)``."""
        w = self.qnn_weights
        angles = w.reshape(1, -1) if w.dim() == 1 else w
        return self.space.probs(angles)[:, : self.n_groups].to(w.dtype)

    def probs(self) -> Tensor:
        """The mixture ``sum_c w_c p_c`` over the first ``n_groups`` basis states: ``(n_groups,)``."""
        pc = self.candidate_probs()
        return self.mixing_weights().to(pc.dtype) @ pc

    def architecture(self) -> ArchitectureReport:
        """Current mixing weights and the arg-max candidate."""
        w = self.mixing_weights().detach().to(torch.float64).cpu().tolist()
        return ArchitectureReport(self.candidates, tuple(float(v) for v in w))

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, candidates={[c.number for c in self.candidates]}, depth={self.depth}, "
                f"weighting={self.weighting.value!r}, shared_angles={self.shared_angles}, "
                f"engine={self.space.engine.value!r}")


class DiffQASTrain(QuantumTrain):
    """:class:`QuantumTrain` with a :class:`DiffQASGenerator`: works for any target module.

    Args:
        target: the classical model whose parameters are generated.
        n_qubits, depth, candidates, weighting, shared_angles, engine, mapping, bits, transform:
            see :class:`DiffQASGenerator`.
        center_rows: see :class:`QuantumTrain`.
        **generator_kwargs: ``center``, ``calibrate``, ``learn_scale``, ``diff_method``.

    Example:
        >>> from torch import nn
        >>> fixed = DiffQASTrain(nn.Linear(6, 2), depth=2, candidates=(2,))   # Table I config 2
        >>> fixed.summary().extras
        0
    """

    def __init__(self, target: nn.Module, n_qubits: int | None = None, depth: int = 10,
                 candidates: Sequence[int] | None = None, *, weighting: str = "raw", shared_angles: bool = True,
                 engine: str = "grouped", mapping: nn.Module | None = None, bits: str = "01",
                 transform: str = "scaled", center_rows: bool = False, **generator_kwargs: Any) -> None:
        for bad in ("sizes", "reference", "dtype", "device", "ansatz", "blocks", "n_per_state"):
            if bad in generator_kwargs:
                raise ValueError(f"{bad}= is fixed by DiffQASTrain (one weight per basis state, the DiffQAS "
                                 "candidates, the target's dtype and device); remove it")
        # the wrapper builds the template and a plain generator; ours replaces the generator
        super().__init__(target, n_qubits, "ry_cnot", 1, MLPMapping(()), 1, bits, "raw", calibrate=False)
        refs = [self.target.get_buffer(name) for name in self.generated_names]
        self.generator = DiffQASGenerator(
            [r.numel() for r in refs], n_qubits, depth, candidates, weighting=weighting, shared_angles=shared_angles,
            engine=engine, mapping=mapping, bits=bits, transform=transform, reference=refs, dtype=refs[0].dtype,
            device=refs[0].device, row_counts=row_counts(refs) if center_rows else None, **generator_kwargs)
        self._init_kwargs: dict[str, Any] = dict(
            n_qubits=self.generator.n_qubits, depth=depth, weighting=weighting, shared_angles=shared_angles,
            engine=engine, bits=bits, transform=transform, center_rows=center_rows, **generator_kwargs)

    def architecture(self) -> ArchitectureReport:
        """Current mixing weights and the arg-max candidate."""
        return self.generator.architecture()  # type: ignore[operator]

    def derive(self, reinit: bool = False) -> DiffQASTrain:
        """The arg-max configuration alone, for retraining (the DiffQAS derive step).

        Args:
            reinit: fresh angles and mapping (from torch's RNG); default: start from the
                searched angles (the arg-max candidate's row), mapping and calibration.

        Returns:
            A new :class:`DiffQASTrain` with ``candidates=(argmax,)`` and no structural weight.
        """
        gen: DiffQASGenerator = self.generator  # type: ignore[assignment]
        best = self.architecture().argmax
        target = self._plain_target()
        out = DiffQASTrain(target, candidates=(best.number,), mapping=_fresh_mapping(gen.mapping),
                           **self._init_kwargs)
        if not reinit:
            state = {k: v for k, v in gen.state_dict().items() if k not in ("qnn_weights", "structural_weights")}
            out.generator.load_state_dict(state, strict=False)
            row = gen.candidates.index(best)
            angles = gen.qnn_weights.detach()
            with torch.no_grad():
                out.generator.qnn_weights.copy_(angles if angles.dim() == 1 else angles[row])
        return out.train(self.training)

    def _plain_target(self) -> nn.Module:
        """A plain copy of the target with its original initial weights (the template's references)."""
        init = {s.name: self.target.get_buffer(s.name) for s in self.specs if s.generated}
        return materialize(self.target, self.specs, init)


def _fresh_mapping(mapping: nn.Module) -> MLPMapping:
    """An unbound copy of an :class:`MLPMapping` (the default ``Linear(n + 1 -> 1)`` is one)."""
    if isinstance(mapping, MLPMapping):
        return MLPMapping(mapping.hidden, mapping.activation, mapping.first_activation)
    raise ValueError(f"derive() rebuilds MLPMapping mappings only, got {type(mapping).__name__}; "
                     "build the derived DiffQASTrain yourself with candidates=(k,)")
