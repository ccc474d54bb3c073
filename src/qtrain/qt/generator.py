"""Quantum parameter generator: circuit -> probabilities -> embedding -> mapping -> M weights.

Papers: Quantum-Train (QT, Liu et al.) Sec. II; QET (AMC with quantum-empowered training) Sec. 2
for the grouping ``n_per_state`` (their ``n_B``) and the {-1, +1} embedding.

Example:
    >>> import torch
    >>> g = QuantumParameterGenerator([200, 8], blocks=2, calibrate=False)
    >>> g.n_qubits, g.n_groups, g().shape
    (8, 208, torch.Size([208]))
"""
from __future__ import annotations

import copy
import functools
import math
from typing import Any, Sequence

import torch
from torch import Tensor, nn

from qtrain.qt.features import ProbTransform, basis_bits, Bits
from qtrain.qt.mapping import MLPMapping, check_mapping, chunk_rows_for, run_chunked
from qtrain.sim import Circuit, CompiledCircuit, DiffMethod
from qtrain.sim.ansatz import build_ansatz
from qtrain.sim.cache import CompileCache
from qtrain.sim.devices import check_device

__all__ = ["QuantumParameterGenerator", "min_qubits"]

CONST_INIT_STD = 0.02  # spread given to tensors whose reference is constant (e.g. BatchNorm weight = 1)


def min_qubits(n_params: int, n_per_state: int = 1) -> int:
    """``ceil(log2(ceil(n_params / n_per_state)))`` (at least 1): QT eq. N = ceil(log2 M), QET eq. (9)."""
    n_groups = -(-n_params // n_per_state)
    return max(1, math.ceil(math.log2(n_groups)))


def _resolve_qubits(n_params: int, n_per_state: int, n_qubits: int | None) -> int:
    if not isinstance(n_per_state, int) or isinstance(n_per_state, bool) or n_per_state < 1:
        raise ValueError(f"n_per_state={n_per_state!r} must be an integer >= 1 (weights per basis state)")
    need = min_qubits(n_params, n_per_state)
    if n_qubits is None:
        return need
    if not isinstance(n_qubits, int) or n_qubits < 1:
        raise ValueError(f"n_qubits={n_qubits!r} must be a positive integer or None (the minimum, {need})")
    if n_qubits < need:
        grouped = "" if n_per_state == 1 else f" in {-(-n_params // n_per_state)} groups of n_per_state={n_per_state}"
        raise ValueError(
            f"n_qubits={n_qubits} gives {2**n_qubits} basis states but the model has {n_params} "
            f"parameters{grouped}; use n_qubits >= {need} or n_per_state >= {-(-n_params // 2**n_qubits)}"
        )
    return n_qubits


def _build_circuit(ansatz: str | Circuit, n_qubits: int | None, blocks: int,
                   kwargs: dict[str, Any] | None) -> Circuit:
    if isinstance(ansatz, Circuit):
        if n_qubits is not None and ansatz.n_qubits != n_qubits:
            raise ValueError(f"ansatz has {ansatz.n_qubits} qubits but n_qubits={n_qubits}; make them agree")
        if ansatz.n_inputs:
            raise ValueError(f"ansatz reads {ansatz.n_inputs} per-sample input(s); a parameter "
                             "generator's circuit must have trainable weights only")
        return ansatz
    if not isinstance(ansatz, str):
        raise ValueError(f"ansatz={ansatz!r} must be a name ('ry_cnot', 'u3_cu3') or a qtrain.sim.Circuit")
    try:
        return build_ansatz(ansatz, n_qubits, blocks, **(kwargs or {}))
    except TypeError as exc:
        raise ValueError(f"ansatz_kwargs={kwargs!r} do not fit ansatz={ansatz!r}: {exc}") from None


def _chunk_rows(mapping: nn.Module, n_groups: int, bytes_per_row: float, chunk_size: int | None,
                memory_budget_mb: float | None) -> int:
    if not getattr(mapping, "couples_rows", False):
        return chunk_rows_for(n_groups, bytes_per_row, chunk_size, memory_budget_mb)
    if chunk_size is not None and chunk_size < n_groups:  # e.g. BatchNorm over rows: chunks would change it
        raise ValueError(f"chunk_size={chunk_size} < n_groups={n_groups}, but mapping {type(mapping).__name__} "
                         "couples rows (BatchNorm over basis states) and must see them all at once; "
                         "set chunk_size=None")
    return n_groups


class QuantumParameterGenerator(nn.Module):
    """Generates a flat vector of ``M = sum(sizes)`` weights from a QNN and a mapping network.

    The circuit runs once per call, whatever the data batch size; only the first
    ``n_groups = ceil(M / n_per_state)`` basis states feed the mapping. Generated weights:
    ``theta = mean_t + scale_t * (y - c_t)`` per target tensor ``t``, where ``y`` is the (centred)
    mapping output and the fixed buffers ``mean_t, scale_t, c_t`` are set on the first call so
    that each tensor starts with the mean and std of its ``reference`` (the target's own
    initialisation; the official code starts at loss 57 on MNIST without this). A tensor whose
    reference is constant (BatchNorm weight = 1, bias = 0) starts at that constant with a spread
    of ``CONST_INIT_STD`` = 0.02. These buffers are not trainable unless ``learn_scale``.

    Args:
        sizes: number of elements of each generated tensor (an int: one tensor).
        n_qubits: circuit width; None -> ``ceil(log2(ceil(M / n_per_state)))``.
        ansatz: ``"ry_cnot"`` (QT paper), ``"u3_cu3"`` (official code, QET) or a
            :class:`qtrain.sim.Circuit` without inputs.
        blocks: ansatz repetitions.
        mapping: :class:`MLPMapping` (bound here) or any module ``(rows, n+1) -> (rows, n_per_state)``.
            Default ``MLPMapping((4, 20, 4))`` (paper: tanh after the first layer).
        n_per_state: weights per basis state (QET grouping ``n_B``).
        bits: ``"01"`` (QT paper) or ``"pm1"`` (QET, official code).
        transform: ``"raw"`` (QT paper), ``"scaled"`` or ``"tanh_power"`` (official code).
        transform_params: ``(gamma, beta, alpha)`` of ``"tanh_power"``.
        learn_transform: make ``(gamma, beta, alpha)`` trainable (official QT-LSTM; 3 extras).
        center: subtract the mean of the generated vector (both papers).
        reference: the target's tensors (their flattened sizes must equal ``sizes``), for
            calibration. Needed when ``calibrate`` is True.
        calibrate: set the per-tensor affine buffers on the first call (False: ``theta = y``).
        row_counts: rows of each generated tensor (output units: ``shape[0]``; 1 for a vector).
            With it, the first call also stores each row's offset from its tensor's mean and
            removes it from every generation (fixed buffer ``row_offset``, not trained).
            :class:`QuantumTrain` sets it from the target's shapes with ``center_rows=True``.
            Why: a linear mapping of basis-label bits makes weight ``[r, c]`` a sum ``a(r) +
            b(c) + ...``, so whole output units start shifted; behind a ReLU with non-negative
            inputs the shifted-down ones do not fire.
        learn_scale: make the per-tensor scales trainable (counted as extras).
        diff_method: the simulator's gradient method (``"adjoint"``, ``"backprop"``, ``"parameter_shift"``).
        shots: estimate the probabilities from this many measurements per generation (``None``:
            exact); needs ``diff_method="parameter_shift"`` (see :func:`qtrain.qt.use_shots`).
        ansatz_kwargs: extra arguments of the ansatz builder (``circular=`` / ``ring=``).
        chunk_size: evaluate the mapping on this many rows at a time, with recomputation.
        memory_budget_mb: chunk automatically when the mapping's saved activations exceed this.
        dtype, device: of the generated weights.

    Shapes:
        ``forward() -> (M,)``; :meth:`tensors` -> one flat ``(sizes[t],)`` view per tensor.
    """

    row_counts: list[int] | None = None  # a class default: generators pickled before row centring load

    def __init__(self, sizes: int | Sequence[int], n_qubits: int | None = None, ansatz: str | Circuit = "ry_cnot",
                 blocks: int = 16, mapping: nn.Module | None = None, n_per_state: int = 1, bits: str = "pm1",
                 transform: str = "tanh_power", *, transform_params: Sequence[float] = (0.1, 0.8, 0.3),
                 learn_transform: bool = False, center: bool = True, reference: Sequence[Tensor] | None = None,
                 calibrate: bool = True, row_counts: Sequence[int] | None = None, learn_scale: bool = False,
                 diff_method: str = "adjoint", shots: int | None = None, ansatz_kwargs: dict[str, Any] | None = None,
                 chunk_size: int | None = None, memory_budget_mb: float | None = 1024.0,
                 dtype: torch.dtype = torch.float32, device: torch.device | str | None = None) -> None:
        super().__init__()
        self.sizes = [sizes] if isinstance(sizes, int) else [int(s) for s in sizes]
        if not self.sizes or min(self.sizes) < 1:
            raise ValueError(f"sizes={sizes!r} must be positive element counts, one per generated tensor")
        self.n_generated = sum(self.sizes)
        self.bits_mode = Bits.parse(bits)
        self.center = center
        self.n_per_state = n_per_state
        if isinstance(ansatz, Circuit) and n_qubits is None:
            n_qubits = ansatz.n_qubits
        self.n_qubits = _resolve_qubits(self.n_generated, n_per_state, n_qubits)
        self.n_groups = -(-self.n_generated // n_per_state)
        self.transform = ProbTransform(transform, self.n_qubits, transform_params, learn_transform)
        self.diff_method = DiffMethod.parse(diff_method)
        self.shots = shots
        self._circuit_desc = _build_circuit(ansatz, self.n_qubits, blocks, ansatz_kwargs)
        device = check_device(device)  # "cuda" without CUDA: one clear error, before allocating
        self._circuits = CompileCache(self._circuit_desc, self.diff_method)  # 19 qubits compile in seconds
        w = torch.empty(self._circuit_desc.n_params, dtype=dtype, device=device).uniform_(-math.pi, math.pi)
        self.qnn_weights = nn.Parameter(w)  # TorchQuantum's uniform(-pi, pi) initialisation
        self.mapping = self._bind_mapping(mapping, dtype, device)
        bpr = check_mapping(self.mapping, self.n_qubits + 1, n_per_state, dtype=dtype, device=device)
        self.chunk_rows = _chunk_rows(self.mapping, self.n_groups, bpr, chunk_size, memory_budget_mb)
        if self.chunk_rows >= self.n_groups:  # chunked runs build their rows' bits on the fly
            self.register_buffer("bits", basis_bits(self.n_qubits, self.n_groups, self.bits_mode,
                                                    dtype=dtype, device=device), persistent=False)
        else:
            self.bits = None
        self.transform.to(device)
        self._init_affine(reference, calibrate, learn_scale, dtype, device)
        self._init_rows(row_counts, dtype, device)

    # -- construction helpers -------------------------------------------------------------
    @property
    def circuit(self) -> CompiledCircuit:
        """The compiled circuit for the QNN weights' device and precision (compiled on first use)."""
        return self._circuits.get(self.qnn_weights, self.diff_method)  # type: ignore[return-value]

    @property
    def shots(self) -> int | None:
        """Measurements per generation (``None``: exact probabilities)."""
        return self._shots

    @shots.setter
    def shots(self, value: int | None) -> None:
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"shots={value!r} must be a positive integer (measurements per circuit run) or None")
            if self.diff_method is not DiffMethod.PARAMETER_SHIFT:
                raise ValueError(f"shots={value} needs diff_method='parameter_shift' but the generator uses "
                                 f"{self.diff_method.value!r}; build it with diff_method='parameter_shift'")
        self._shots = value

    @property
    def circuit_description(self) -> Circuit:
        """The uncompiled :class:`qtrain.sim.Circuit`."""
        return self._circuit_desc

    def _bind_mapping(self, mapping: nn.Module | None, dtype: torch.dtype, device: torch.device) -> nn.Module:
        mapping = MLPMapping() if mapping is None else mapping
        if not isinstance(mapping, nn.Module):
            raise ValueError(f"mapping={mapping!r} must be an nn.Module, e.g. MLPMapping((4, 20, 4))")
        if callable(getattr(mapping, "bind", None)) and hasattr(mapping, "bound"):
            # an unbound mapping (MLPMapping, MultimodelMapping) is a spec: bind a copy, so one spec
            # can serve many generators
            mapping = (mapping if mapping.bound else copy.deepcopy(mapping)).bind(self.n_qubits + 1, self.n_per_state)
        return mapping.to(dtype=dtype, device=device)

    def _init_affine(self, reference: Sequence[Tensor] | None, calibrate: bool, learn_scale: bool,
                     dtype: torch.dtype, device: torch.device) -> None:
        t = len(self.sizes)
        if calibrate:
            if reference is None or [r.numel() for r in reference] != self.sizes:
                got = None if reference is None else [r.numel() for r in reference]
                raise ValueError(f"calibrate=True needs reference tensors with sizes {self.sizes}, got {got}; "
                                 "pass the target's tensors as reference= or set calibrate=False")
            ref = [r.detach().to(torch.float64).reshape(-1) for r in reference]
            ref_mean = torch.tensor([float(r.mean()) for r in ref])
            ref_std = torch.tensor([float(r.std(unbiased=False)) for r in ref])
            ref_std = torch.where(ref_std > 0, ref_std, torch.full_like(ref_std, CONST_INIT_STD))
        else:
            ref_mean, ref_std = torch.zeros(t), torch.ones(t)
        kw: dict[str, Any] = dict(dtype=dtype, device=device)
        self.register_buffer("ref_mean", ref_mean.to(**kw))
        self.register_buffer("ref_std", ref_std.to(**kw))
        self.register_buffer("calib_center", torch.zeros(t, **kw))
        self.register_buffer("calibrated", torch.tensor(not calibrate, device=device))
        self._calibrated_seen = False
        scale = torch.ones(t, **kw)
        if learn_scale:
            self.scale = nn.Parameter(scale)
        else:
            self.register_buffer("scale", scale)
        self.register_buffer("tensor_sizes", torch.tensor(self.sizes, device=device), persistent=False)

    def _init_rows(self, row_counts: Sequence[int] | None, dtype: torch.dtype, device: torch.device) -> None:
        self.row_counts = None if row_counts is None else [int(r) for r in row_counts]
        if self.row_counts is None:
            return
        if bool(self.calibrated):  # set when calibrate=False
            raise ValueError("row_counts needs calibrate=True: the row offsets are set with the calibration, "
                             "on the first call; set calibrate=True or drop row_counts / center_rows")
        bad = len(self.row_counts) != len(self.sizes) or any(
            r < 1 or n % r for r, n in zip(self.row_counts, self.sizes))
        if bad:
            raise ValueError(f"row_counts={list(row_counts)!r} must give one row count per generated tensor that "
                             f"divides its size {self.sizes}, e.g. [t.shape[0] for t in tensors]")
        lens = [n // r for r, n in zip(self.row_counts, self.sizes) for _ in range(r)]
        self.register_buffer("row_offset", torch.zeros(len(lens), dtype=dtype, device=device))
        self.register_buffer("row_lengths", torch.tensor(lens, device=device), persistent=False)

    def _remove_row_offsets(self, y: Tensor) -> Tensor:
        if self.row_counts is None:
            return y
        return y - torch.repeat_interleave(self.row_offset, self.row_lengths, output_size=self.n_generated)

    # -- generation -----------------------------------------------------------------------
    def probs(self) -> Tensor:
        """Probabilities of the first ``n_groups`` basis states ``(n_groups,)``: one circuit run.

        With :attr:`shots` set they are ``shots``-sample estimates (counts / shots).
        """
        w = self.qnn_weights
        return self.circuit.probs(w, shots=self.shots)[0, : self.n_groups].to(w.dtype)

    def _map_rows(self, x: Tensor, start: int, stop: int) -> Tensor:
        if self.bits is not None and start == 0 and stop == self.n_groups:
            bits = self.bits
        else:
            bits = basis_bits(self.n_qubits, stop - start, self.bits_mode, start=start, dtype=x.dtype, device=x.device)
        feats = torch.cat([bits.to(x.dtype), x[start:stop, None]], 1)
        return self.mapping(feats).reshape(stop - start, self.n_per_state)

    def raw(self) -> Tensor:
        """Mapping output before the per-tensor affine: ``(M,)``, centred when ``center``."""
        x = self.transform(self.probs())
        y = run_chunked(functools.partial(self._map_rows, x), self.n_groups, self.chunk_rows)
        y = y.reshape(-1)[: self.n_generated]
        return y - y.mean() if self.center else y

    def forward(self) -> Tensor:
        y = self.raw()
        if not self._calibrated_seen:  # reads the buffer once (a device sync on GPU), not every call
            if bool(self.calibrated):
                self._calibrated_seen = True
            else:
                self.calibrate(y)
        y = self._remove_row_offsets(y)
        # theta = mean_t + scale_t * (y - c_t), expanded per element of each tensor t
        n = self.n_generated
        a = torch.repeat_interleave(self.scale, self.tensor_sizes, output_size=n)
        b = torch.repeat_interleave(self.ref_mean - self.scale * self.calib_center, self.tensor_sizes, output_size=n)
        return torch.addcmul(b, a, y)

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        self._calibrated_seen = False  # re-read the loaded ``calibrated`` flag on the next call

    def tensors(self) -> list[Tensor]:
        """One generation split into flat per-tensor views (``torch.split``: no copies)."""
        return list(self().split(self.sizes))

    @torch.no_grad()
    def calibrate(self, y: Tensor | None = None) -> None:
        """Set ``calib_center`` and ``scale`` so each tensor has its reference's mean and std.

        Called automatically on the first generation; call again to recalibrate (e.g. after
        re-initialising the mapping). ``y`` is a :meth:`raw` output (computed when None). With
        ``row_counts``, the row offsets are set first and the affine fits the row-centred output.
        """
        y = (self.raw() if y is None else y).detach().to(torch.float64)
        if self.row_counts is not None:
            y = self._set_row_offsets(y)
        glob = float(y.std(unbiased=False)) if y.numel() > 1 else 0.0
        centers, stds = [], []
        for seg in y.split(self.sizes):
            s = float(seg.std(unbiased=False)) if seg.numel() > 1 else 0.0
            centers.append(float(seg.mean()))
            # a 1-element tensor borrows the global spread; a near-constant slice is floored so
            # that later changes of the mapping output are amplified at most 1000x
            stds.append((max(s, 1e-3 * glob) if s > 0 else glob) if glob > 0 else 1.0)
        self.calib_center.copy_(torch.tensor(centers, dtype=torch.float64))
        self.scale.copy_(self.ref_std.double().cpu() / torch.tensor(stds, dtype=torch.float64))
        self.calibrated.fill_(True)
        self._calibrated_seen = True

    @torch.no_grad()
    def _set_row_offsets(self, y: Tensor) -> Tensor:
        """Store every row's mean minus its tensor's mean in ``row_offset``; return ``y`` without them."""
        off = torch.cat([seg.reshape(r, -1).mean(1) - seg.mean() for seg, r in zip(y.split(self.sizes),
                                                                                    self.row_counts)])
        self.row_offset.copy_(off)
        return y - torch.repeat_interleave(off, self.row_lengths.to(off.device), output_size=self.n_generated)

    def extra_repr(self) -> str:
        shots = f"shots={self.shots}, " if self.shots is not None else ""
        return (f"{shots}n_generated={self.n_generated}, n_qubits={self.n_qubits}, n_groups={self.n_groups}, "
                f"n_per_state={self.n_per_state}, bits={self.bits_mode.value!r}, center={self.center}, "
                f"chunk_rows={self.chunk_rows}, circuit={self._circuit_desc!r}"
                + (", center_rows=True" if self.row_counts is not None else ""))
