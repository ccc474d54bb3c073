"""Recipe ``v2x_semantic``: channel-adaptive semantic communication with a quantum-relative-entropy loss.

Paper: V2X paper (arXiv 003), Sec. III: a QCNN encoder maps perception data to a few semantic
features that cross the V2X channel; a decoder reconstructs; the distortion is measured by the
quantum relative entropy between the states of source and reconstruction and used in the loss.
The paper gives no numbers for this module; this recipe makes it measurable.

Protocol: Digits 8x8 images in [0, 1] (6:2:2 split). Encoder: the 4-qubit ``vqc`` circuit on
every 2x2 patch (:class:`~qtrain.hybrid.quanv.Quanv2d`, 16 weights) -> ``Linear(64, k)``
(``k`` real features = ``k / 2`` complex symbols, power-normalised) -> a differentiable AWGN or
Rayleigh link (:class:`~qtrain.wireless.links.Link`) whose SNR is drawn per sample from
``[snr_min_db, snr_max_db]`` -> decoder ``MLP(k + 1 -> 64 -> 64)`` + sigmoid, told the SNR (the
"channel-adaptive" part: one model for every channel state). Loss: ``MSE + qre_weight *
S(rho(x) || rho(x_hat))`` with ``rho`` from :func:`~qtrain.sim.qinfo.density_from_rows` (the 8
image rows as states, ``eps`` mixing). The classical autoencoder of equal size replaces the
circuit by a bias-free 2x2 stride-2 conv + tanh (16 weights). Evaluation at each SNR of
``eval_snrs_db`` with fixed noise: PSNR, QRE and the accuracy of a fixed classifier (trained once
on clean training images) on the reconstructed test images.

    qtrain run v2x_semantic --preset awgn                 # quality and accuracy vs SNR, AWGN
    qtrain run v2x_semantic --preset rayleigh             # the same over Rayleigh fading
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from qtrain.config import option
from qtrain.data.digits import digits_splits
from qtrain.hybrid.quanv import Quanv2d, QuantumFeatureLayer
from qtrain.models.v2x import PatchFeatures2d
from qtrain.recipes.registry import Recipe, RecipeOutput
from qtrain.recipes.v2x.common import export_from_checkpoint, param_count, save_export
from qtrain.sim.qinfo import density_from_rows, relative_entropy
from qtrain.train import RunContext, RunDir, ShuffledBatches, TrainLoop, seed_everything
from qtrain.wireless.links import Link

__all__ = ["SemanticConfig", "RECIPE", "SemanticAE", "build_model", "semantic_loss", "train"]

MODEL_SETS = {"both": ["quantum", "classical"], "quantum": ["quantum"], "classical": ["classical"]}


# ----------------------------------------------------------------------------- config
@dataclass
class SemanticConfig:
    """Config of ``v2x_semantic``; defaults: AWGN, SNR drawn in [-5, 20] dB, 8 real features (4 symbols)."""

    seed: int = option(0, "seed of the split, the initialisation, the batches and the channel noise", min=0)
    models: Literal["both", "quantum", "classical"] = option("both", "QCNN encoder, classical encoder, or both")
    channel: Literal["awgn", "rayleigh"] = option("awgn", "channel model")
    equalizer: Literal["mmse", "zf"] = option("mmse", "Rayleigh receiver (perfect CSI)")
    n_features: int = option(8, "real features sent per image (= 2 x complex channel symbols)", min=1)
    snr_min_db: float = option(-5.0, "training SNR range, low end (dB)")
    snr_max_db: float = option(20.0, "training SNR range, high end (dB)")
    adaptive: bool = option(True, "tell the decoder the SNR (one model for every channel state)")
    eval_snrs_db: tuple[float, ...] = option((-5.0, 0.0, 5.0, 10.0, 15.0, 20.0), "evaluation SNRs (dB)")
    qre_weight: float = option(0.1, "weight of the quantum relative entropy in the loss (0: MSE only)", min=0)
    rho_eps: float = option(0.05, "maximally mixed weight in the image states (keeps them full rank)", gt=0, max=1)
    layers: int = option(2, "circuit layers of the 4-qubit vqc encoder layer", min=1)
    hidden: int = option(64, "decoder hidden width", min=1)
    epochs: int = option(40, "training epochs", min=1)
    batch_size: int = option(64, "batch size", min=1)
    lr: float = option(0.01, "Adam learning rate", gt=0)
    classifier_epochs: int = option(300, "full-batch epochs of the downstream classifier (clean images)", min=1)
    eval_every: int = option(10, "evaluate on validation every this many epochs (and at the last)", min=1)
    max_steps: int | None = option(None, "stop each model after this many steps (smoke runs)", min=1)
    plots: bool = option(True, "write curves.png (needs matplotlib: qtrain[plot])")
    num_threads: int | None = option(1, "torch CPU threads", min=1)

    @property
    def train_models(self) -> list[str]:
        """Model tags trained by this run, in order."""
        return MODEL_SETS[self.models]

    def problems(self) -> list[str]:
        """Cross-field checks."""
        out = []
        if self.snr_min_db > self.snr_max_db:
            out.append(f"snr_min_db={self.snr_min_db} > snr_max_db={self.snr_max_db}; swap them")
        bad = [v for v in (self.snr_min_db, self.snr_max_db, *self.eval_snrs_db) if not math.isfinite(v)]
        if bad:
            out.append(f"SNRs must be finite dB values; got {bad}")
        return out


# ----------------------------------------------------------------------------- builders
class SemanticAE(nn.Module):
    """Image ``(B, 1, 8, 8)`` -> features -> channel -> reconstruction ``(B, 1, 8, 8)`` in ``[0, 1]``."""

    def __init__(self, features: nn.Module, link: Link, n_features: int, hidden: int, adaptive: bool) -> None:
        super().__init__()
        self.features, self.link, self.adaptive = features, link, adaptive
        self.project = nn.Linear(64, n_features)
        self.decoder = nn.Sequential(nn.Linear(n_features + int(adaptive), hidden), nn.ReLU(),
                                     nn.Linear(hidden, 64))

    def encode(self, x: Tensor) -> Tensor:
        """The ``k`` real semantic features (before power normalisation)."""
        return self.project(self.features(x).flatten(1))

    def forward(self, x: Tensor, snr_db: Tensor, generator: torch.Generator | None = None) -> Tensor:
        received = self.link(self.encode(x), snr_db, generator)
        if self.adaptive:
            received = torch.cat([received, (snr_db / 20.0)[:, None].to(received.dtype)], dim=1)
        return torch.sigmoid(self.decoder(received)).view(-1, 1, 8, 8)


def build_model(cfg: SemanticConfig, tag: str) -> SemanticAE:
    """``tag`` = ``"quantum"`` (QCNN encoder) or ``"classical"`` (equal-size conv encoder), seeded."""
    seed_everything(cfg.seed)
    features: nn.Module = (Quanv2d(QuantumFeatureLayer(4, "vqc", cfg.layers)) if tag == "quantum"
                           else PatchFeatures2d(4, 2))
    link = Link(cfg.channel, snr_db=cfg.snr_max_db, equalizer=cfg.equalizer)
    return SemanticAE(features, link, cfg.n_features, cfg.hidden, cfg.adaptive)


def semantic_loss(x: Tensor, x_hat: Tensor, qre_weight: float, eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """``(loss, mse, qre)``: ``mse + qre_weight * mean_b S(rho(x_b) || rho(x_hat_b))`` (rows as states)."""
    mse = F.mse_loss(x_hat, x)
    qre = relative_entropy(density_from_rows(x[:, 0], eps), density_from_rows(x_hat[:, 0], eps)).mean()
    return mse + qre_weight * qre, mse, qre


def build_classifier(train: Any, epochs: int, seed: int) -> nn.Module:
    """The downstream task: ``MLP(64 -> 32 -> 10)`` trained full-batch on clean training images."""
    torch.manual_seed(seed)
    clf = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    opt = torch.optim.Adam(clf.parameters(), lr=0.01)
    x, y = train.tensors
    for _ in range(epochs):
        opt.zero_grad()
        F.cross_entropy(clf(x), y).backward()
        opt.step()
    return clf.eval().requires_grad_(False)


# ----------------------------------------------------------------------------- evaluate
@torch.no_grad()
def evaluate(model: SemanticAE, data: Any, snr_db: float, cfg: SemanticConfig, clf: nn.Module,
             noise_seed: int) -> dict[str, float]:
    """PSNR (dB), MSE, mean QRE (nats) and downstream accuracy at one SNR, with seeded noise."""
    model.eval()
    x, y = data.tensors
    gen = torch.Generator(device=x.device).manual_seed(noise_seed)
    x_hat = model(x, torch.full((len(x),), float(snr_db), device=x.device), gen)
    _, mse, qre = semantic_loss(x, x_hat, cfg.qre_weight, cfg.rho_eps)
    model.train()
    acc = float((clf(x_hat).argmax(1) == y).float().mean())
    return {"mse": float(mse), "psnr_db": 10 * math.log10(1.0 / float(mse)), "qre": float(qre), "acc": acc}


# ----------------------------------------------------------------------------- train one model
def train_model(cfg: SemanticConfig, ctx: RunContext, tag: str, splits: Any, clf: nn.Module) -> dict[str, Any]:
    """Train (or resume) one autoencoder; returns its summary entry with the per-SNR metrics."""
    model = build_model(cfg, tag).to(ctx.device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    loop = TrainLoop(ctx, tag, model, opt, ShuffledBatches(splits.train, cfg.batch_size, seed=cfg.seed), cfg.epochs,
                     max_steps=cfg.max_steps, monitor="val_psnr_db")
    gen = torch.Generator(device=ctx.device).manual_seed(cfg.seed + 1)  # the channel noise, beside the data
    for epoch in loop.epochs():
        for x, _y in loop.batches():
            snr = cfg.snr_min_db + (cfg.snr_max_db - cfg.snr_min_db) * torch.rand(len(x), generator=gen)
            with ctx.autocast(model):  # precision: the autoencoder's forward
                x_hat = model(x, snr, gen)
                loss, mse, _qre = semantic_loss(x, x_hat, cfg.qre_weight, cfg.rho_eps)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loop.step_done(loss.detach(), 0, len(x))
        last = epoch + 1 == cfg.epochs or (cfg.max_steps is not None and loop.global_step >= cfg.max_steps)
        mid = (cfg.snr_min_db + cfg.snr_max_db) / 2
        due = (epoch + 1) % cfg.eval_every == 0 or last
        metrics = evaluate(model, splits.val, mid, cfg, clf, cfg.seed + 7) if due else {}
        loop.end_epoch({f"val_{k}": v for k, v in metrics.items()})
    curve = {str(s): evaluate(model, splits.test, s, cfg, clf, cfg.seed + 1000 + i)
             for i, s in enumerate(cfg.eval_snrs_db)}
    return {"model": model, "params": param_count(model), "epochs_run": loop.epoch, "steps": loop.global_step,
            "seconds_per_epoch": loop.seconds_per_epoch, "train_time_s": loop.train_time_s, "by_snr": curve}


# ----------------------------------------------------------------------------- setup -> train -> save
def train(cfg: SemanticConfig, ctx: RunContext) -> RecipeOutput:
    """Setup (threads, split, downstream classifier) -> train each autoencoder -> curves vs SNR -> export."""
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    splits = digits_splits(cfg.seed)
    clf = build_classifier(splits.train, cfg.classifier_epochs, cfg.seed).to(ctx.device)
    splits = ctx.to_device(splits)  # once, not per batch
    clean = float((clf(splits.test.tensors[0]).argmax(1) == splits.test.tensors[1]).float().mean())
    results = {tag: train_model(cfg, ctx, tag, splits, clf) for tag in cfg.train_models}
    save_export(results[cfg.train_models[0]]["model"], ctx.run_dir)
    names = {"quantum": "QCNN encoder", "classical": "classical encoder"}
    table = [{"model": f"{names[tag]} @ {snr} dB", "snr dB": float(snr), "params": res["params"]["trainable"],
              "PSNR dB": round(m["psnr_db"], 2), "QRE": round(m["qre"], 4), "acc %": round(100 * m["acc"], 2),
              "clean acc %": round(100 * clean, 2)}
             for tag, res in results.items() for snr, m in res["by_snr"].items()]
    models = {tag: {k: v for k, v in res.items() if k != "model"} for tag, res in results.items()}
    return RecipeOutput(summary={"models": models, "table": table, "clean_test_acc": clean}, table=table)


def export(cfg: SemanticConfig, run_dir: RunDir) -> Path:
    """Rebuild the first-trained autoencoder from its last checkpoint and write ``model.safetensors``."""
    tag = cfg.train_models[0]
    return export_from_checkpoint(build_model(cfg, tag), run_dir, tag)


RECIPE = Recipe(name="v2x_semantic", config_cls=SemanticConfig, train=train, export=export,
                description="QCNN semantic encoder over AWGN/Rayleigh with a quantum-relative-entropy loss vs an "
                            "equal-size classical autoencoder (V2X paper, Sec. III)",
                limits={"precision": "its channel maps features to complex symbols, which have no bf16/fp16 form",
                        "nproc": "its channel noise is drawn per batch from one seeded generator, which ranks "
                                 "holding parts of a batch cannot share"})
