"""Training machinery shared by the recipes: seeding, run folders, checkpoints, loops, progress, loggers, plots.

Example:
    >>> from qtrain.train import seed_everything, ShuffledBatches, EarlyStopping
    >>> seed_everything(0)
"""
from __future__ import annotations

from qtrain.train.batches import ShuffledBatches
from qtrain.train.checkpoint import (atomic_write, atomic_write_json, atomic_write_text, load_checkpoint,
                                     save_checkpoint, save_model_safetensors)
from qtrain.train.context import ObservedRunDir, RecordObserver, RunContext, StepHook
from qtrain.train.early_stopping import EarlyStopping
from qtrain.train.ema import EMA
from qtrain.train.environment import run_environment
from qtrain.train.evaluate import evaluate
from qtrain.train.guards import NonFiniteLossError
from qtrain.train.loggers import open_loggers
from qtrain.train.loop import TrainLoop
from qtrain.train.plots import plot_curves
from qtrain.train.progress import ProgressBar, RunProgress
from qtrain.train.rundir import RunDir, peak_memory
from qtrain.train.schedules import WarmupCosine, warmup_cosine
from qtrain.train.seed import capture_rng_state, preserved_torch_settings, restore_rng_state, seed_everything

__all__ = [
    "ShuffledBatches", "atomic_write", "atomic_write_json", "atomic_write_text", "load_checkpoint", "save_checkpoint",
    "save_model_safetensors",
    "RunContext", "StepHook", "ObservedRunDir", "RecordObserver", "EarlyStopping", "EMA", "NonFiniteLossError",
    "run_environment", "open_loggers", "TrainLoop", "plot_curves", "ProgressBar", "RunProgress", "RunDir",
    "peak_memory",
    "WarmupCosine", "warmup_cosine", "evaluate",
    "capture_rng_state", "preserved_torch_settings", "restore_rng_state", "seed_everything",
]
