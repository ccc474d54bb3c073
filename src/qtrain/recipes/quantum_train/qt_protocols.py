"""The two training protocols of ``qt_image``: the paper's settings and qtrain's fast ones.

A preset names a paper row (dataset, model, circuit, mapping); the protocol says how to train it.
Every option listed in :data:`PROTOCOLS` defaults to ``None`` in the config, meaning "the
protocol's value"; an option set in a preset or with ``--set`` always wins.

* ``paper``: exactly the paper's text: the whole training set, no validation split, 50 epochs
  (CIFAR-10: 1,000 epochs of batch 1,000), batch 128, constant Adam lr 1e-4, raw probabilities p,
  0/1 basis bits, an uncalibrated start, the model after the last epoch.
* ``fast``: qtrain's settings, which learn in a few epochs: a tenth of the training pool held out
  for validation, Adam lr 1e-2 with a linear warmup and a cosine decay per step, gradient clipping,
  an EMA of the weights, -1/+1 bits, p x 2^n, a start
  calibrated to the target's initialisation, and the epoch with the best validation accuracy
  (chosen before the test set is looked at).
"""
from __future__ import annotations

from typing import Any

__all__ = ["PROTOCOLS", "PROTOCOL_EPOCHS", "SPLIT_POOLS", "DATASET_SIZES", "protocol_values", "resolve_protocol",
           "protocol_problems"]

#: Protocol -> option -> value, for every option the protocol decides.
PROTOCOLS: dict[str, dict[str, Any]] = {
    "paper": {"epochs": 50, "batch_size": 128, "lr": 1e-4, "bits": "01", "transform": "raw", "calibrate": False,
              "scheduler": "constant", "warmup_epochs": 0.0, "min_lr_ratio": 0.0, "mapping_lr_factor": 1.0,
              "grad_clip": 0.0, "ema_decay": 0.0, "val_fraction": 0.0, "select": "last"},
    "fast": {"epochs": 10, "batch_size": 128, "lr": 1e-2, "bits": "pm1", "transform": "scaled", "calibrate": True,
             "scheduler": "cosine", "warmup_epochs": 0.5, "min_lr_ratio": 0.01, "mapping_lr_factor": 1.0,
             "grad_clip": 1.0, "ema_decay": 0.998, "val_fraction": 0.1, "select": "best_val"},
}

#: (protocol, dataset) -> options that differ for that dataset. CIFAR-10: the paper's 1,000 epochs of batch 1,000;
#: fast keeps lr 1e-4 (untested on real CIFAR-10, which is not available offline: on generated CIFAR-format images
#: lr 1e-3 blew the 285,226 generated weights up, training loss 1e4 in the first epoch, while 1e-4 learned).
#: MNIST-5k: 4,000 images give 32 steps per epoch, so the fast protocol needs more epochs for the same steps.
PROTOCOL_EPOCHS: dict[tuple[str, str], dict[str, Any]] = {
    ("paper", "cifar10"): {"epochs": 1000, "batch_size": 1000},
    ("fast", "cifar10"): {"epochs": 100, "batch_size": 1000, "lr": 1e-4},
    ("fast", "mnist5k"): {"epochs": 40},
    ("fast", "digits"): {"epochs": 40},
}

#: dataset -> (training pool: train + validation images, test images) when ``n_train``/``n_test`` are unset.
SPLIT_POOLS: dict[str, tuple[int, int]] = {
    "mnist5k": (4000, 1000), "fashion": (60000, 10000), "mnist": (60000, 10000), "cifar10": (50000, 10000),
    "digits": (1297, 500),  # sklearn's 1,797 digits, all three splits drawn from them
}
DEFAULT_POOL = (4000, 1000)  # idx folders and generated CIFAR-10: the recipe's historic default
#: dataset -> (most training + validation images, most test images); None: generated, no limit.
DATASET_SIZES: dict[str, tuple[int, int] | None] = {
    "mnist5k": (5000, 5000), "idx": None, "fashion": (60000, 10000), "mnist": (60000, 10000),
    "cifar10": (50000, 10000), "cifar10_synthetic": None, "digits": (1797, 1797)}


def protocol_values(protocol: str, dataset: str) -> dict[str, Any]:
    """Every option ``protocol`` decides for ``dataset`` (the split sizes excluded)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol={protocol!r} is unknown; use one of {list(PROTOCOLS)}")
    return {**PROTOCOLS[protocol], **PROTOCOL_EPOCHS.get((protocol, dataset), {})}


def resolve_protocol(cfg: Any) -> None:
    """Fill the options of ``cfg`` left at ``None`` from its protocol, then the split sizes.

    Validation images come out of the training pool, so with the default sizes the test set is the
    same under both protocols: MNIST-5k 4,000 + 1,000 (fast: 3,600 train + 400 validation), Fashion-MNIST
    60,000 + 10,000 (fast: 54,000 + 6,000). An explicit ``n_train`` gets validation images in the same
    proportion (one per nine training images), as far as the pool has them left.
    """
    values = protocol_values(cfg.protocol, cfg.dataset)
    for name, value in values.items():
        if name not in ("val_fraction", "select") and getattr(cfg, name) is None:
            setattr(cfg, name, value)
    pool, test = SPLIT_POOLS.get(cfg.dataset, DEFAULT_POOL)
    frac = values["val_fraction"]
    if cfg.n_val is None and cfg.n_train is None:
        cfg.n_val = round(pool * frac)
    elif cfg.n_val is None:  # an explicit training set: validation in proportion to it, within what the pool has left
        cfg.n_val = max(0, min(round(cfg.n_train * frac / (1 - frac)), pool - cfg.n_train))
    if cfg.n_train is None:
        cfg.n_train = max(pool - cfg.n_val, 1)
    if cfg.n_test is None:
        cfg.n_test = test
    if cfg.select is None:  # the best validation epoch needs a validation split; early stopping implies it
        wants_best = cfg.patience > 0 or values["select"] == "best_val"
        cfg.select = "best_val" if wants_best and cfg.n_val > 0 else "last"


def protocol_problems(cfg: Any) -> list[str]:
    """Checks of the resolved options: a best-validation choice needs validation images, the EMA decay, split sizes."""
    out = []
    if cfg.select == "best_val" and not cfg.n_val and not cfg.patience:
        out.append("select='best_val' needs a validation split; set n_val > 0 (e.g. n_val=500) or select=last")
    if cfg.ema_decay is not None and cfg.ema_decay >= 1:
        out.append(f"ema_decay={cfg.ema_decay} must be < 1 (e.g. 0.998: an average over ~500 steps; 0: off)")
    sizes = DATASET_SIZES[cfg.dataset]
    if cfg.dataset in ("mnist5k", "digits") and sizes and cfg.n_train + cfg.n_val + cfg.n_test > sizes[0]:
        name = {"mnist5k": "MNIST-5k", "digits": "sklearn digits"}[cfg.dataset]
        out.append(f"n_train + n_val + n_test = {cfg.n_train + cfg.n_val + cfg.n_test} > {sizes[0]} images "
                   f"in {name}; lower them")
    elif sizes and (cfg.n_train + cfg.n_val > sizes[0] or cfg.n_test > sizes[1]):
        out.append(f"dataset={cfg.dataset!r} has {sizes[0]} training and {sizes[1]} test images; got "
                   f"n_train + n_val = {cfg.n_train + cfg.n_val}, n_test = {cfg.n_test}; lower them")
    return out
