"""Recipe ``pilot_assignment``: learned pilot assignment in cell-free massive MIMO (HQCNN paper).

Paper: Nguyen et al., "Hybrid quantum convolutional neural network for pilot assignment in
cell-free massive MIMO" (arXiv 2507.06585): Table II (sum-rate of HQCNN / MLP / light-CNN /
heavy-CNN / layer-specific HQCNN next to random, greedy, Master-AP, location and exhaustive
search) and Fig. 3c (sum-rate vs qubits, noiseless / depolarizing p = 0.1 / ZNE-mitigated).

``study=table2`` trains each learner of ``methods`` on ``n_train`` scenarios (supervised on
Master-AP labels with cross-entropy, or unsupervised on the negative soft sum-rate) and scores
the argmax assignments on ``n_test`` fresh scenarios with the closed-form sum-rate, next to the
heuristics (and exhaustive search where it is affordable). ``study=qubits`` trains the HQCNN for
each ``qubits`` value noiselessly, then evaluates it noiselessly, under depolarizing noise after
every gate (density matrix) and with zero-noise extrapolation of the readout expectations.

    qtrain run pilot_assignment --preset small_K6           # Table II, small system
    qtrain run pilot_assignment --preset fig3c_small        # Fig. 3c at a small size

Order: config -> builders -> evaluate -> train one model (the loop) -> setup/save -> export.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch.utils.data import TensorDataset

from qtrain.config import option
from qtrain.recipes.registry import Recipe, RecipeOutput
from qtrain.train import RunContext, RunDir, ShuffledBatches, TrainLoop, atomic_write, seed_everything
from qtrain.recipes.hqcnn_pilot.assigners import (ASSIGNERS, PilotAssigner, assigner_loss, build_assigner,
                                                  evaluate_assigner, feature_stats, hqcnn_total, param_counts)
from qtrain.recipes.hqcnn_pilot.paper import PAPER_TABLE_II
from qtrain.recipes.hqcnn_pilot.report import report_section
from qtrain.sim.mitigation import extrapolate
from qtrain.wireless import (EXHAUSTIVE_LIMIT, TABLE_II, compare_methods, make_scenarios, master_ap_pilots,
                             n_partitions, sum_rate, table2_config)

__all__ = ["PilotConfig", "RECIPE", "build_model", "train"]

HEURISTICS = ("random", "greedy", "master_ap", "location")
REFERENCE_HEURISTICS = ("greedy", "master_ap", "location")
"""Medium systems: the ratio column is to the best of these (the paper's non-random heuristics)."""


# ----------------------------------------------------------------------------- config
@dataclass
class PilotConfig:
    """Config of ``pilot_assignment``; defaults: Table II small_K6, unsupervised, every learner."""

    seed: int = option(0, "seed of the training scenarios and the initialisation (test seed: seed + 1000)", min=0)
    study: Literal["table2", "qubits"] = option("table2", "table2: every method; qubits: Fig. 3c (HQCNN only)")
    system: str = option("small_K6", f"Table II system, one of {list(TABLE_II)}")
    rate_model: Literal["closed_form", "paper_code_compat"] = option(
        "closed_form", "training and scoring rate; paper_code_compat is the public code's (Table II regeneration only)")
    methods: tuple[str, ...] = option(ASSIGNERS, f"learners to train, from {list(ASSIGNERS)}")
    heuristics: tuple[str, ...] = option(HEURISTICS, "baselines scored on the test scenarios (also balanced_random, "
                                         "local_search: single-user moves seeded by Master-AP)")
    exhaustive: bool = option(True, "also run exhaustive search when the partition count is <= 3,000,000")
    mode: Literal["supervised", "unsupervised"] = option("unsupervised", "Master-AP labels + CE, or -soft sum-rate")
    relaxation: Literal["soft", "straight_through"] = option("soft", "unsupervised loss: eq. (8) or straight-through")
    n_train: int = option(192, "training scenarios (public code: 192)", min=1)
    n_test: int = option(200, "test scenarios", min=1)
    epochs: int = option(15, "training epochs", min=1)
    batch_size: int = option(16, "batch size (public code: 16)", min=1)
    lr: float = option(1e-2, "Adam learning rate of the classical models", gt=0)
    hqcnn_lr: float = option(1e-2, "Adam learning rate of the HQCNNs", gt=0)
    n_qubits: int = option(8, "HQCNN qubits n_in (even)", min=2)
    conv: str = option("su4", "QCNN convolution circuit (Hur et al.): su4, so4, u15, ttn, u9, u5, u6, u13, u14")
    embedding: Literal["rx", "ry"] = option("rx", "angle embedding gate")
    qcnn_layers: int = option(1, "conv+pool layers of our HQCNN (one shared PQC)", min=1)
    hur_layers: int = option(2, "conv+pool layers of the layer-specific HQCNN (Hur et al.)", min=1)
    diff_method: Literal["backprop", "adjoint", "parameter_shift"] = option("backprop", "QCNN gradients")
    qubits: tuple[int, ...] = option((4, 6, 8), "study=qubits: qubit counts (even)", min=2)
    noise_p: float = option(0.1, "study=qubits: depolarizing probability after every gate", min=0, max=1)
    zne_scales: tuple[float, ...] = option((1.0, 2.0, 3.0), "study=qubits: ZNE noise scale factors", min=0)
    zne_method: Literal["richardson", "linear"] = option("richardson", "study=qubits: ZNE extrapolation")
    max_steps: int | None = option(None, "stop each model after this many steps (smoke runs)", min=1)
    num_threads: int | None = option(None, "torch CPU threads (default: torch's choice)", min=1)

    def problems(self) -> list[str]:
        """Cross-field checks (reported together with the per-field ones)."""
        out = []
        if self.system not in TABLE_II:
            out.append(f"system={self.system!r} is not a Table II system; use one of {list(TABLE_II)}")
        bad = [m for m in self.methods if m not in ASSIGNERS]
        if bad:
            out.append(f"methods={list(self.methods)} holds unknown {bad}; use names from {list(ASSIGNERS)}")
        bad = [h for h in self.heuristics if h not in HEURISTICS + ("balanced_random", "local_search")]
        if bad:
            out.append(f"heuristics={list(self.heuristics)} holds unknown {bad}; use names from {list(HEURISTICS)}")
        if any(q % 2 for q in (self.n_qubits, *self.qubits)):
            out.append(f"n_qubits={self.n_qubits} and qubits={list(self.qubits)} must be even")
        if self.noise_p * max(self.zne_scales, default=1.0) > 1:
            out.append(f"noise_p * max(zne_scales) = {self.noise_p * max(self.zne_scales):g} > 1; lower them")
        return out


# ----------------------------------------------------------------------------- builders
def build_model(cfg: PilotConfig, name: str, stats: tuple[float, float], n_qubits: int | None = None,
                noise: float | None = None) -> PilotAssigner:
    """Learner ``name`` for ``cfg.system``, seeded by ``cfg.seed`` (HQCNNs take the QCNN options).

    ``mlp_matched`` gets the total trainable count of this config's ``hqcnn`` as its budget.
    """
    seed_everything(cfg.seed)
    sys_cfg = model_cfg(cfg)
    if name == "mlp_matched":
        return build_assigner(name, sys_cfg, stats, budget=hqcnn_total(sys_cfg, cfg.n_qubits, cfg.qcnn_layers))
    if not name.startswith("hqcnn"):
        return build_assigner(name, sys_cfg, stats)
    layers = cfg.qcnn_layers if name == "hqcnn" else cfg.hur_layers
    return build_assigner(name, sys_cfg, stats, n_qubits=n_qubits or cfg.n_qubits, conv=cfg.conv, n_layers=layers,
                          embedding=cfg.embedding, diff_method=cfg.diff_method, noise=noise)


# ----------------------------------------------------------------------------- evaluate
@torch.no_grad()
def evaluate_noisy(model: PilotAssigner, noisy: PilotAssigner, beta: torch.Tensor,
                   cfg: PilotConfig) -> dict[str, float]:
    """Sum-rates of ``model`` noiseless, of its weights under noise, and with ZNE of the QCNN readout.

    Also, for ``noisy`` and ``zne``: the fraction of users given the same pilot as noiseless
    (``*_agree``) and the mean absolute logit error against noiseless (``*_logit_err``), which show
    the noise and its mitigation even where the sum-rate barely depends on the assignment.
    """
    sys_cfg = model_cfg(cfg)
    noisy.load_state_dict(model.state_dict())
    clean = model(beta)
    at = {}
    for scale in dict.fromkeys((1.0, *cfg.zne_scales)):
        noisy.noise_scale = scale  # type: ignore[assignment]
        at[scale] = noisy(beta)
    noisy.noise_scale = 1.0  # type: ignore[assignment]
    # the post-processing is linear and Richardson/linear weights sum to 1: extrapolating logits = readouts
    mitigated = extrapolate(cfg.zne_scales, torch.stack([at[s] for s in cfg.zne_scales]), cfg.zne_method)
    out: dict[str, float] = {}
    for name, logits in (("noiseless", clean), ("noisy", at[1.0]), ("zne", mitigated)):
        pilots = logits.argmax(-1)
        out[name] = float(sum_rate(beta, pilots, sys_cfg).mean())
        if name != "noiseless":
            out[f"{name}_agree"] = float((pilots == clean.argmax(-1)).double().mean())
            out[f"{name}_logit_err"] = float((logits - clean).abs().mean())
    return out


# ----------------------------------------------------------------------------- train one model
def train_model(cfg: PilotConfig, ctx: RunContext, tag: str, model: PilotAssigner,
                data: TensorDataset) -> dict[str, Any]:
    """Train ``model`` with Adam (loss of ``cfg.mode``) and return its history entry."""
    sys_cfg = model_cfg(cfg)
    lr = cfg.hqcnn_lr if tag.startswith("hqcnn") else cfg.lr
    opt = torch.optim.Adam(model.to(ctx.device).parameters(), lr=lr)
    loop = TrainLoop(ctx, tag, model, opt, ShuffledBatches(data, cfg.batch_size, seed=cfg.seed), cfg.epochs,
                     max_steps=cfg.max_steps)
    for _epoch in loop.epochs():
        for beta, labels in loop.batches():
            with ctx.autocast(model):  # precision: the learner's forward; the sum-rate loss stays float32
                logits = model(beta)
            loss = assigner_loss(cfg.mode, logits.float(), beta, labels, sys_cfg, cfg.relaxation)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loop.step_done(loss.detach(), (logits.argmax(-1) == labels).all(-1).sum(), len(labels))
        loop.end_epoch()
    model.cpu()  # the sum-rate evaluations, heuristics and noisy twins run on the CPU
    return {"epochs_run": loop.epoch, "steps": loop.global_step, "seconds_per_epoch": loop.seconds_per_epoch,
            "final_train_loss": loop.history[-1]["train_loss"] if loop.history else None}


# ----------------------------------------------------------------------------- setup -> train -> save
def _data(cfg: PilotConfig) -> tuple[TensorDataset, torch.Tensor, Any]:
    sys_cfg = model_cfg(cfg)
    train_sc = make_scenarios(sys_cfg, cfg.n_train, cfg.seed)
    test_sc = make_scenarios(sys_cfg, cfg.n_test, cfg.seed + 1000)
    return TensorDataset(train_sc.beta, master_ap_pilots(train_sc.beta, sys_cfg)), train_sc.beta, test_sc


def _baselines(cfg: PilotConfig, test_sc: Any) -> dict[str, float]:
    sys_cfg = model_cfg(cfg)
    names = list(cfg.heuristics)
    if cfg.exhaustive and n_partitions(sys_cfg.K, sys_cfg.tau_p) <= EXHAUSTIVE_LIMIT:
        names.append("exhaustive")
    return {k: v.mean for k, v in compare_methods(test_sc, sys_cfg, names, cfg.seed).items()}


def train(cfg: PilotConfig, ctx: RunContext) -> RecipeOutput:
    """Setup (threads, scenarios) -> baselines -> train each learner -> evaluate -> summary."""
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    data, train_beta, test_sc = _data(cfg)
    data = ctx.to_device(data)  # once, not per batch (the test scenarios stay on the CPU)
    stats = feature_stats(train_beta)
    base = _baselines(cfg, test_sc)
    ref_name = "exhaustive" if "exhaustive" in base else max((k for k in base if k in REFERENCE_HEURISTICS),
                                                             key=base.get, default=None)
    ref = base.get(ref_name) if ref_name else None
    models: dict[str, Any] = {}
    runs = cfg.methods if cfg.study == "table2" else tuple(f"hqcnn_q{q}" for q in cfg.qubits)
    for tag in runs:
        q = int(tag.split("_q")[1]) if tag.startswith("hqcnn_q") else None
        model = build_model(cfg, "hqcnn" if q else tag, stats, n_qubits=q)
        entry = {**train_model(cfg, ctx, tag, model, data), "params": param_counts(model)}
        if q:
            noisy = build_model(cfg, "hqcnn", stats, n_qubits=q, noise=cfg.noise_p)
            entry.update(evaluate_noisy(model, noisy, test_sc.beta, cfg))
        entry["sum_rate"] = entry.get("noiseless", float(evaluate_assigner(model, test_sc.beta, model_cfg(cfg)).mean()))
        entry["ratio"] = entry["sum_rate"] / ref if ref else None
        models[tag] = entry
        save_export(model, ctx.run_dir)
    paper = PAPER_TABLE_II[cfg.system]
    table = [{"method": k, "sum-rate": round(v["sum_rate"], 3), "paper": paper.get(k), "ratio": _r(v["ratio"]),
              "quantum": v["params"]["quantum"], "classical": v["params"]["classical"],
              **({"noisy": round(v["noisy"], 3), "zne": round(v["zne"], 3)} if "zne" in v else {})}
             for k, v in models.items()]
    table += [{"method": k, "sum-rate": round(v, 3), "paper": paper.get(k), "ratio": _r(v / ref if ref else None)}
              for k, v in base.items()]
    summary = {"system": cfg.system, "study": cfg.study, "reference": ref_name, "baselines": base, "models": models,
               "feature_stats": list(stats), "table": table}
    return RecipeOutput(summary=summary, table=table)


def model_cfg(cfg: PilotConfig) -> Any:
    """The :class:`~qtrain.wireless.SystemConfig` of ``cfg.system`` under ``cfg.rate_model``."""
    return table2_config(cfg.system, rate_model=cfg.rate_model)


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


# ----------------------------------------------------------------------------- export
def save_export(model: PilotAssigner, run_dir: RunDir) -> Path:
    """Write ``model.safetensors`` (the model's ``state_dict``) into the run folder."""
    from safetensors.torch import save

    path = run_dir.path / "model.safetensors"
    tensors = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    meta = {"format": "pt", "target_class": f"{type(model).__module__}.{type(model).__qualname__}"}
    atomic_write(path, lambda fh: fh.write(save(tensors, metadata=meta)))
    return path


def export(cfg: PilotConfig, run_dir: RunDir) -> Path:
    """Rebuild the last-trained learner from its checkpoint and write ``model.safetensors``."""
    from qtrain.train import load_checkpoint

    tag = cfg.methods[-1] if cfg.study == "table2" else f"hqcnn_q{cfg.qubits[-1]}"
    q = int(tag.split("_q")[1]) if tag.startswith("hqcnn_q") else None
    model = build_model(cfg, "hqcnn" if q else tag, (0.0, 1.0), n_qubits=q)
    model.load_state_dict(load_checkpoint(run_dir.checkpoint_dir(tag) / "last.pt")["model"])
    return save_export(model, run_dir)


RECIPE = Recipe(name="pilot_assignment", config_cls=PilotConfig, train=train, export=export, report=report_section,
                description="HQCNN vs MLP/CNN pilot assignment in cell-free massive MIMO (HQCNN paper, "
                            "Table II, Fig. 3c)")
