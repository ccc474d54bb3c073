"""Learned pilot assignment: the HQCNN of Nguyen et al. (arXiv 2507.06585), its baselines, losses, a loop.

The paper's learners live with its recipe (``pilot_assignment``); they use the physics of
:mod:`qtrain.wireless` (system model, differentiable sum-rate) and the QCNN of :mod:`qtrain.hybrid`.

Every assigner maps large-scale fading ``beta (..., M, K)`` to logits ``(..., K, tau_p)``; a softmax
over the last dimension gives each user's pilot probabilities (paper Sec. III-A-3) and ``argmax``
the assignment. Input features: ``beta`` in dB, ``10 log10(beta)``, standardised with ONE mean and
standard deviation (scalars) measured on the training scenarios (:func:`feature_stats`), so the
features are O(1) and identical for every model.

Models (:data:`ASSIGNERS`, built by :func:`build_assigner`):

* ``hqcnn`` (ours, the paper): ``Linear(M K -> n)`` -> ``Rx`` angle embedding -> QCNN with ONE
  shared ``U_SU4`` PQC (15) + pooling (2) -> ``<Z>`` on ``n/2^layers`` wires -> ``Linear -> K tau_p``.
* ``hqcnn_hur``: the same with per-layer PQCs (Hur et al.'s layer-specific design).
* ``mlp``: ``M K -> 8 -> 8 -> K tau_p`` with no activations (the public code's MLP).
* ``mlp_matched``: ``M K -> h -> K tau_p`` with ReLU, ``h`` the largest width whose total count stays
  within a budget (default: the ``hqcnn``'s total), i.e. a classical learner of the HQCNN's size.
* ``light_cnn`` / ``heavy_cnn``: two 3x3 conv layers with (8, 16) / (32, 64) channels, ReLU and 2x2
  max-pooling on the ``(M, K)`` image, then linear layers to ``K tau_p``.

Losses: supervised cross-entropy against Master-AP labels (eq. (7)); unsupervised negative soft
sum-rate (eq. (8), :func:`~qtrain.wireless.rate.soft_sum_rate`). QCNN gradients by backprop,
adjoint or the parameter-shift rule (eqs. (9)-(12)).

Example:
    >>> import torch
    >>> from qtrain.wireless import SystemConfig, make_scenarios
    >>> cfg = SystemConfig(M=10, K=6, tau_p=3); sc = make_scenarios(cfg, 4, seed=0)
    >>> model = build_assigner("hqcnn", cfg, feature_stats(sc.beta))
    >>> model.probs(sc.beta).shape, param_counts(model)
    (torch.Size([4, 6, 3]), {'quantum': 17, 'classical': 578, 'total': 595})
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from qtrain.hybrid.qcnn import QCNN
from qtrain.wireless.config import SystemConfig
from qtrain.wireless.heuristics import master_ap_pilots
from qtrain.wireless.rate import soft_sum_rate, sum_rate

__all__ = ["ASSIGNERS", "MODES", "PilotAssigner", "HQCNNAssigner", "MLPAssigner", "CNNAssigner", "feature_stats",
           "build_assigner", "param_counts", "RELAXATIONS", "supervised_loss", "unsupervised_loss", "assigner_loss",
           "fit", "evaluate_assigner", "hqcnn_total", "matched_width"]

ASSIGNERS = ("hqcnn", "hqcnn_hur", "mlp", "light_cnn", "heavy_cnn", "mlp_matched")
"""Names accepted by :func:`build_assigner`."""
MODES = ("supervised", "unsupervised")
"""Training modes: Master-AP labels + cross-entropy, or negative soft sum-rate."""


def feature_stats(beta: Tensor) -> tuple[float, float]:
    """Mean and standard deviation of ``10 log10(beta)`` over all entries of ``beta (S, M, K)``."""
    db = 10 * torch.log10(beta)
    return float(db.mean()), float(db.std()) if db.numel() > 1 else 1.0


class PilotAssigner(nn.Module):
    """Base: ``beta (..., M, K)`` -> standardised dB features -> ``_logits`` -> ``(..., K, tau_p)``."""

    def __init__(self, cfg: SystemConfig, stats: tuple[float, float] = (0.0, 1.0)) -> None:
        super().__init__()
        if not stats[1] > 0:
            raise ValueError(f"stats={stats!r}: the standard deviation must be > 0; use feature_stats(train_beta)")
        self.M, self.K, self.tau_p = cfg.M, cfg.K, cfg.tau_p
        self.register_buffer("feat_mean", torch.tensor(float(stats[0])))
        self.register_buffer("feat_std", torch.tensor(float(stats[1])))

    def features(self, beta: Tensor) -> Tensor:
        """Standardised dB features ``(..., M, K)`` (float32 unless the model is float64)."""
        if beta.dim() < 2 or tuple(beta.shape[-2:]) != (self.M, self.K):
            raise ValueError(f"beta has shape {tuple(beta.shape)}; expected (..., M, K) = (..., {self.M}, {self.K})")
        return ((10 * torch.log10(beta) - self.feat_mean) / self.feat_std).to(self.feat_std.dtype)

    def _logits(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, beta: Tensor) -> Tensor:
        """Logits ``(..., K, tau_p)``."""
        x = self.features(beta)
        lead = x.shape[:-2]
        return self._logits(x.reshape(-1, self.M, self.K)).reshape(*lead, self.K, self.tau_p)

    def probs(self, beta: Tensor) -> Tensor:
        """Per-user pilot probabilities ``(..., K, tau_p)`` (rows sum to 1)."""
        return self(beta).softmax(-1)

    @torch.no_grad()
    def assign(self, beta: Tensor) -> Tensor:
        """Hard assignment ``(..., K)``: each user's most probable pilot."""
        return self(beta).argmax(-1)


class HQCNNAssigner(PilotAssigner):
    """Linear pre-processing -> QCNN (:class:`~qtrain.hybrid.qcnn.QCNN`) -> linear post-processing.

    Args:
        cfg: the system (``M``, ``K``, ``tau_p``).
        stats: feature mean/std from :func:`feature_stats`.
        n_qubits: ``n_in`` (even); the pre-processing is ``Linear(M K -> n_qubits)``.
        **qcnn: passed to :class:`QCNN` (``conv``, ``n_layers``, ``shared``, ``diff_method``, ``noise``, ...).
    """

    def __init__(self, cfg: SystemConfig, stats: tuple[float, float] = (0.0, 1.0), n_qubits: int = 8,
                 **qcnn: Any) -> None:
        super().__init__(cfg, stats)
        self.pre = nn.Linear(cfg.M * cfg.K, n_qubits)
        self.qcnn = QCNN(n_qubits, **qcnn)
        self.post = nn.Linear(self.qcnn.n_out, cfg.K * cfg.tau_p)
        self.noise_scale = 1.0  # zero-noise extrapolation knob, read by forward

    def _logits(self, x: Tensor) -> Tensor:
        z = self.qcnn(self.pre(x.flatten(1)), noise_scale=self.noise_scale)
        return self.post(z)


class MLPAssigner(PilotAssigner):
    """``M K -> hidden... -> K tau_p``; ``activation="none"`` is the public code's (linear) MLP."""

    def __init__(self, cfg: SystemConfig, stats: tuple[float, float] = (0.0, 1.0),
                 hidden: Sequence[int] = (8, 8), activation: str = "none") -> None:
        super().__init__(cfg, stats)
        acts = {"none": nn.Identity, "relu": nn.ReLU, "tanh": nn.Tanh}
        if activation not in acts:
            raise ValueError(f"activation={activation!r} is unknown; use one of {list(acts)}")
        widths, layers = [cfg.M * cfg.K, *hidden], []
        for a, b in zip(widths, widths[1:]):
            layers += [nn.Linear(a, b), acts[activation]()]
        self.net = nn.Sequential(*layers, nn.Linear(widths[-1], cfg.K * cfg.tau_p))

    def _logits(self, x: Tensor) -> Tensor:
        return self.net(x.flatten(1))


class CNNAssigner(PilotAssigner):
    """Conv3x3(pad 1) + ReLU + MaxPool2 per channel count, flatten, linear ``hidden`` (ReLU), ``K tau_p``.

    Pooling is skipped once a spatial side would drop below 1, so small systems (``K = 6``) work.
    """

    def __init__(self, cfg: SystemConfig, stats: tuple[float, float] = (0.0, 1.0),
                 channels: Sequence[int] = (8, 16), hidden: Sequence[int] = ()) -> None:
        super().__init__(cfg, stats)
        layers: list[nn.Module] = []
        c_in, h, w = 1, cfg.M, cfg.K
        for c_out in channels:
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU()]
            if h >= 2 and w >= 2:
                layers.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
            c_in = c_out
        widths, head = [c_in * h * w, *hidden], []
        for a, b in zip(widths, widths[1:]):
            head += [nn.Linear(a, b), nn.ReLU()]
        self.conv = nn.Sequential(*layers)
        self.head = nn.Sequential(*head, nn.Linear(widths[-1], cfg.K * cfg.tau_p))

    def _logits(self, x: Tensor) -> Tensor:
        return self.head(self.conv(x[:, None]).flatten(1))


def hqcnn_total(cfg: SystemConfig, n_qubits: int = 8, n_layers: int = 1, quantum: int = 17) -> int:
    """Trainable count of the shared-PQC ``hqcnn``: ``Linear(M K -> n) + quantum + Linear(n / 2^layers -> K tau_p)``.

    Example:
        >>> hqcnn_total(SystemConfig(M=10, K=6, tau_p=3))
        595
    """
    n_out = max(1, n_qubits >> n_layers)
    return cfg.M * cfg.K * n_qubits + n_qubits + quantum + (n_out + 1) * cfg.K * cfg.tau_p


def matched_width(cfg: SystemConfig, budget: int) -> int:
    """Largest hidden width ``h`` of ``M K -> h -> K tau_p`` (with biases) whose count is ``<= budget``.

    Example:
        >>> matched_width(SystemConfig(M=10, K=6, tau_p=3), 595)  # 79 h + 18 <= 595
        7
    """
    n_in, n_out = cfg.M * cfg.K, cfg.K * cfg.tau_p
    width = (budget - n_out) // (n_in + 1 + n_out)
    if width < 1:
        raise ValueError(f"budget={budget} is below the smallest one-hidden-unit MLP ({n_in + 1 + 2 * n_out} "
                         f"parameters for M K = {n_in}, K tau_p = {n_out}); raise the budget")
    return width


def build_assigner(name: str, cfg: SystemConfig, stats: tuple[float, float] = (0.0, 1.0), **kw: Any) -> PilotAssigner:
    """One of :data:`ASSIGNERS` with the paper's defaults, overridable by ``kw``.

    ``hqcnn``: 8 qubits, ``su4``, 1 layer, shared (17 quantum params). ``hqcnn_hur``: per-layer PQCs,
    2 layers (34). ``light_cnn``: channels (8, 16); ``heavy_cnn``: (32, 64) + hidden 128 (public code's fc).
    ``mlp_matched``: one ReLU hidden layer sized by :func:`matched_width` to ``budget`` (default
    :func:`hqcnn_total` of ``cfg``).
    """
    if name == "mlp_matched":
        budget = kw.pop("budget", None) or hqcnn_total(cfg)
        return MLPAssigner(cfg, stats, **{"hidden": (matched_width(cfg, budget),), "activation": "relu", **kw})
    if name == "hqcnn":
        return HQCNNAssigner(cfg, stats, **{"n_layers": 1, "shared": True, **kw})
    if name == "hqcnn_hur":
        return HQCNNAssigner(cfg, stats, **{"n_layers": 2, "shared": False, **kw})
    if name == "mlp":
        return MLPAssigner(cfg, stats, **kw)
    if name == "light_cnn":
        return CNNAssigner(cfg, stats, **{"channels": (8, 16), **kw})
    if name == "heavy_cnn":
        return CNNAssigner(cfg, stats, **{"channels": (32, 64), "hidden": (128,), **kw})
    raise ValueError(f"model={name!r} is unknown; use one of {list(ASSIGNERS)}")


def param_counts(model: nn.Module) -> dict[str, int]:
    """Trainable parameters: ``quantum`` (QCNN circuit weights), ``classical`` (the rest), ``total``."""
    quantum = sum(m.weight.numel() for m in model.modules() if isinstance(m, QCNN) and m.weight.requires_grad)
    total = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"quantum": quantum, "classical": total - quantum, "total": total}


def supervised_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """Cross-entropy (eq. (7)) of logits ``(S, K, tau_p)`` against pilot labels ``(S, K)``, mean over users."""
    return F.cross_entropy(logits.flatten(0, -2), labels.flatten())


RELAXATIONS = ("soft", "straight_through")
"""``soft``: eq. (8) with ``P = q q^T``; ``straight_through``: the hard sum-rate of ``argmax`` forward,
the soft gradient backward."""


def unsupervised_loss(logits: Tensor, beta: Tensor, cfg: SystemConfig, relaxation: str = "soft") -> Tensor:
    """Negative mean sum-rate in Mbit/s of ``softmax(logits)`` on ``beta (S, M, K)``.

    ``relaxation="soft"`` is the paper's eq. (8). Its ``P = q q^T`` has diagonal ``|q_k|^2 < 1`` for
    non-one-hot ``q``, which lowers each user's own term in the MMSE denominator, so near-uniform
    probabilities score *above* every hard assignment (measured: about 188 vs exhaustive 148 Mbit/s
    on (M, K, tau_p) = (10, 6, 3)). ``"straight_through"`` scores the argmax assignment exactly and
    back-propagates through the soft one, which removes that incentive.
    """
    probs = logits.softmax(-1).to(beta.dtype)
    if relaxation == "straight_through":
        hard = F.one_hot(probs.argmax(-1), cfg.tau_p).to(probs.dtype)
        probs = hard + probs - probs.detach()
    elif relaxation != "soft":
        raise ValueError(f"relaxation={relaxation!r} is unknown; use one of {list(RELAXATIONS)}")
    return -soft_sum_rate(beta, probs, cfg).mean()


def assigner_loss(mode: str, logits: Tensor, beta: Tensor, labels: Tensor | None, cfg: SystemConfig,
                  relaxation: str = "soft") -> Tensor:
    """The loss of ``mode`` (one of :data:`MODES`); supervised needs ``labels``."""
    if mode == "supervised":
        if labels is None:
            raise ValueError("mode='supervised' needs labels (S, K); pass master_ap_pilots(beta, cfg)")
        return supervised_loss(logits, labels)
    if mode == "unsupervised":
        return unsupervised_loss(logits, beta, cfg, relaxation)
    raise ValueError(f"mode={mode!r} is unknown; use one of {list(MODES)}")


def fit(model: PilotAssigner, beta: Tensor, cfg: SystemConfig, mode: str = "unsupervised", epochs: int = 10,
        batch_size: int = 16, lr: float = 1e-2, seed: int = 0, relaxation: str = "soft") -> list[float]:
    """Adam on ``beta (S, M, K)`` for ``epochs``; returns the mean training loss of each epoch.

    Supervised labels are :func:`~qtrain.wireless.heuristics.master_ap_pilots` (the paper's label
    generator). Batches are reshuffled each epoch from a generator seeded with ``seed``.
    """
    labels = master_ap_pilots(beta, cfg) if mode == "supervised" else None
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    history = []
    for _ in range(epochs):
        total, order = 0.0, torch.randperm(len(beta), generator=gen)
        for idx in order.split(batch_size):
            y = None if labels is None else labels[idx]
            loss = assigner_loss(mode, model(beta[idx]), beta[idx], y, cfg, relaxation)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        history.append(total / len(beta))
    return history


@torch.no_grad()
def evaluate_assigner(model: PilotAssigner, beta: Tensor, cfg: SystemConfig, batch_size: int = 256) -> Tensor:
    """Sum-rates ``(S,)`` in Mbit/s of the model's hard (argmax) assignments on ``beta (S, M, K)``."""
    pilots = torch.cat([model.assign(b) for b in beta.split(batch_size)]) if len(beta) else beta.new_zeros(0, cfg.K)
    return sum_rate(beta, pilots.long(), cfg)


