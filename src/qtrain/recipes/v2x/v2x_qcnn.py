"""Recipe ``v2x_qcnn``: the V2X paper's experiment, a 4-qubit hybrid QCNN on Digits (Sec. VII, Fig. 5).

Paper: "Quantum Machine Learning-based 6G Network: Enabling Adaptive Communication and Model
Aggregation" (arXiv 003). Digits split 6:2:2 (1,078 / 359 / 360 images, stratified by ``seed``),
500 epochs, cross-entropy; the study varies batch size, learning rate and optimizer one at a time
around the best configuration (batch 64, lr 0.01, Adam: test accuracy 0.85 in the paper).

Model (``encoder=linear``, default): 8x8 image -> ``Linear(64, 4)`` -> sigmoid -> 4 angles
``pi * s`` -> 4-qubit feature layer (:class:`qtrain.hybrid.quanv.QuantumFeatureLayer`, layout
``vqc``: Ry encoding, 2 x (Ry, Rz on every qubit + CNOT ring), ``<Z>`` on every qubit, or the
DeepQuantum ``qcnn`` layout) -> ``Linear(n_out, 10)``. ``encoder=patches`` slides the circuit
over the 16 2x2 patches instead (quantum convolution) and the head reads all 16 x n_out values.
The classical model of equal size replaces the circuit by ``tanh(Linear(4, n_out, bias=False))``
(16 weights, as many as the 2-layer vqc circuit), everything else identical.

    qtrain run v2x_qcnn --preset paper_best                    # bs 64, lr 0.01, Adam, 500 epochs
    qtrain sweep v2x_qcnn --presets bs16,bs32,paper_best,bs128 --seeds 0,1,2   # the batch-size study

Order: config -> builders -> evaluate -> train one model (the loop) -> setup/save -> export.
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
from qtrain.models.v2x import DenseFeatures, PatchFeatures2d
from qtrain.recipes.registry import Recipe, RecipeOutput
from qtrain.recipes.v2x.common import (evaluate_classifier, export_from_checkpoint, make_optimizer, param_count,
                                       save_export)
from qtrain.recipes.v2x.paper import PAPER_BEST
from qtrain.train import RunContext, RunDir, ShuffledBatches, TrainLoop, seed_everything

__all__ = ["V2XQCNNConfig", "RECIPE", "HybridDigits", "build_model", "train"]

MODEL_SETS = {"both": ["quantum", "classical"], "quantum": ["quantum"], "classical": ["classical"]}


# ----------------------------------------------------------------------------- config
@dataclass
class V2XQCNNConfig:
    """Config of ``v2x_qcnn``; defaults are the paper's best configuration (Sec. VII)."""

    seed: int = option(0, "seed of the 6:2:2 split, the initialisation and the batch order", min=0)
    models: Literal["both", "quantum", "classical"] = option("both", "hybrid QCNN, its classical twin, or both")
    encoder: Literal["linear", "patches"] = option("linear", "linear: Linear(64,4) -> circuit; patches: circuit "
                                                              "on every 2x2 patch (quantum convolution)")
    layout: Literal["vqc", "qcnn"] = option("vqc", "circuit: rotations + CNOT ring, or DeepQuantum's QCNN")
    layers: int = option(2, "circuit layers (vqc) or conv+pool layers (qcnn)", min=1)
    n_qubits: int = option(4, "qubits of the feature layer (paper: 4)", min=2)
    epochs: int = option(500, "training epochs (paper: 500)", min=1)
    batch_size: int = option(64, "batch size (paper's best: 64)", min=1, aliases=("batch", "bs"))
    lr: float = option(0.01, "learning rate (paper's best: 0.01)", gt=0, aliases=("learning_rate",))
    optimizer: Literal["adam", "sgd", "rmsprop", "adagrad"] = option("adam", "optimizer (paper's best: adam)")
    momentum: float = option(0.0, "SGD momentum", min=0, max=1)
    diff_method: Literal["adjoint", "backprop", "parameter_shift"] = option("adjoint", "circuit gradients")
    eval_every: int = option(1, "evaluate val/test every this many epochs (and at the last)", min=1)
    max_steps: int | None = option(None, "stop each model after this many steps (smoke runs)", min=1)
    plots: bool = option(True, "write curves.png (needs matplotlib: qtrain[plot])")
    num_threads: int | None = option(1, "torch CPU threads (tiny circuits: 1 is fastest)", min=1)

    @property
    def train_models(self) -> list[str]:
        """Model tags trained by this run, in order."""
        return MODEL_SETS[self.models]

    def problems(self) -> list[str]:
        """Cross-field checks (reported together with the per-field ones)."""
        out = []
        if self.encoder == "patches" and self.n_qubits != 4:
            out.append(f"encoder='patches' reads 2x2 patches, so n_qubits must be 4 (got {self.n_qubits})")
        if self.layout == "qcnn" and (self.n_qubits % 2 or 2**self.layers > self.n_qubits):
            out.append(f"layout='qcnn' needs an even n_qubits >= 2**layers (got n_qubits={self.n_qubits}, "
                       f"layers={self.layers})")
        return out


# ----------------------------------------------------------------------------- builders
class HybridDigits(nn.Module):
    """8x8 digit -> 10 logits through a feature layer (quantum circuit or its classical twin).

    Args:
        features: ``(..., n_in) -> (..., n_out)`` for ``encoder="linear"``; ``(B, 1, 8, 8) ->
            (B, n_out, 4, 4)`` for ``encoder="patches"``.
        encoder: ``"linear"`` (``Linear(64, n_in)`` + sigmoid in front) or ``"patches"``.
        n_in, n_out: feature layer widths.
    """

    def __init__(self, features: nn.Module, encoder: str, n_in: int, n_out: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.pre = nn.Linear(64, n_in) if encoder == "linear" else None
        self.features = features
        self.head = nn.Linear(n_out if encoder == "linear" else 16 * n_out, 10)

    def forward(self, x: Tensor) -> Tensor:
        if self.pre is not None:  # angles in (0, 1) * pi, the quantum layer's scale
            return self.head(self.features(torch.sigmoid(self.pre(x.flatten(1)))))
        return self.head(self.features(x).flatten(1))


def build_features(cfg: V2XQCNNConfig, tag: str) -> tuple[nn.Module, int, int]:
    """The feature layer of ``tag`` and its (inputs, outputs)."""
    n_in = cfg.n_qubits
    q = QuantumFeatureLayer(n_in, cfg.layout, cfg.layers, scale=math.pi, diff_method=cfg.diff_method)
    n_out = q.n_out
    if tag == "quantum":
        return (Quanv2d(q) if cfg.encoder == "patches" else q), n_in, n_out
    return (PatchFeatures2d(n_out, 2) if cfg.encoder == "patches" else DenseFeatures(n_in, n_out)), n_in, n_out


def build_model(cfg: V2XQCNNConfig, tag: str) -> HybridDigits:
    """``tag`` = ``"quantum"`` (hybrid QCNN) or ``"classical"`` (its twin), initialised from ``cfg.seed``."""
    seed_everything(cfg.seed)
    features, n_in, n_out = build_features(cfg, tag)
    return HybridDigits(features, cfg.encoder, n_in, n_out)


# ----------------------------------------------------------------------------- train one model
def train_model(cfg: V2XQCNNConfig, ctx: RunContext, tag: str, splits: Any) -> dict[str, Any]:
    """Train (or resume) one model; returns its summary entry (last-epoch and best-val test accuracy)."""
    model = build_model(cfg, tag).to(ctx.device)
    opt = make_optimizer(cfg.optimizer, model.parameters(), cfg.lr, cfg.momentum)
    loop = TrainLoop(ctx, tag, model, opt, ShuffledBatches(splits.train, cfg.batch_size, seed=cfg.seed), cfg.epochs,
                     max_steps=cfg.max_steps, monitor="val_acc")
    for epoch in loop.epochs():
        for x, y in loop.batches():
            with ctx.autocast(model):  # precision: the network's forward
                logits = model(x)
                loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loop.step_done(loss.detach(), (logits.argmax(1) == y).sum(), len(y))
        last = epoch + 1 == cfg.epochs or (cfg.max_steps is not None and loop.global_step >= cfg.max_steps)
        due = (epoch + 1) % cfg.eval_every == 0 or last
        loop.end_epoch({**evaluate_classifier(model, splits.val, "val"),
                        **evaluate_classifier(model, splits.test, "test")} if due else {})
    final = {**evaluate_classifier(model, splits.train, "train"), **evaluate_classifier(model, splits.test, "test")}
    evals = [r for r in loop.history if "val_acc" in r]
    best = max(evals, key=lambda r: (r["val_acc"], -r["epoch"])) if evals else {}
    return {"model": model, "params": param_count(model), "epochs_run": loop.epoch, "steps": loop.global_step,
            "seconds_per_epoch": loop.seconds_per_epoch, "train_time_s": loop.train_time_s, **final,
            "best_epoch": best.get("epoch"), "best_val_acc": best.get("val_acc"),
            "test_acc_at_best_val": best.get("test_acc")}


# ----------------------------------------------------------------------------- setup -> train -> save
def _row(cfg: V2XQCNNConfig, tag: str, res: dict[str, Any]) -> dict[str, Any]:
    name = f"hybrid QCNN ({cfg.layout}, {cfg.encoder})" if tag == "quantum" else f"classical twin ({cfg.encoder})"
    pct = lambda v: None if v is None else round(100 * v, 2)  # noqa: E731
    return {"model": name, "params": res["params"]["trainable"], "quantum params": res["params"]["quantum"],
            "train %": pct(res.get("train_acc")), "test %": pct(res.get("test_acc")),
            "test % @ best val": pct(res.get("test_acc_at_best_val")), "paper test %": 100 * PAPER_BEST["test_acc"],
            "s/epoch": round(res["seconds_per_epoch"], 4)}


def train(cfg: V2XQCNNConfig, ctx: RunContext) -> RecipeOutput:
    """Setup (threads, 6:2:2 split) -> train each model -> evaluate -> export the last one."""
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    splits = ctx.to_device(digits_splits(cfg.seed))  # once, not per batch
    results = {tag: train_model(cfg, ctx, tag, splits) for tag in cfg.train_models}
    save_export(results[cfg.train_models[0]]["model"], ctx.run_dir)
    table = [_row(cfg, tag, res) for tag, res in results.items()]
    models = {tag: {k: v for k, v in res.items() if k != "model"} for tag, res in results.items()}
    return RecipeOutput(summary={"models": models, "table": table, "paper": PAPER_BEST,
                                 "split": [len(splits.train), len(splits.val), len(splits.test)]}, table=table)


def export(cfg: V2XQCNNConfig, run_dir: RunDir) -> Path:
    """Rebuild the first-trained model from its last checkpoint and write ``model.safetensors``."""
    tag = cfg.train_models[0]
    return export_from_checkpoint(build_model(cfg, tag), run_dir, tag)


RECIPE = Recipe(name="v2x_qcnn", config_cls=V2XQCNNConfig, train=train, export=export,
                description="4-qubit hybrid QCNN on Digits vs an equal-size classical twin "
                            "(V2X paper, Sec. VII hyperparameter study)")
