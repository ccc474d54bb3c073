"""Run options: what every run takes besides its recipe's own fields (``--set loggers=...``).

The runner splits these keys off the ``--set`` overrides before the recipe's config is built, so
they work for every recipe without a field in its dataclass, and keeps them in ``run.json`` (a
resumed run reuses them). A key that is both a run option and a field of the recipe (``device`` of
a recipe with its own) goes to both.

``device`` and ``precision`` are resolved here once, before anything is allocated
(:func:`resolve_compute`): ``auto`` becomes ``cuda`` when a GPU is visible, else ``cpu``; CUDA asked
for and absent, a GPU index out of range, fp16 on the CPU, or an option the recipe cannot honour
(its :attr:`~qtrain.recipes.registry.Recipe.limits`) is one clear error.

Example:
    >>> split_overrides("qt_image", ["epochs=2", "loggers=tensorboard"])
    (['epochs=2'], ['loggers=tensorboard'])
"""
from __future__ import annotations

import dataclasses
import difflib
import os
import re
from dataclasses import dataclass
from typing import Any, Iterable, Literal

import torch

from qtrain._fileio import short
from qtrain.config import ConfigError, apply_overrides, build_config, option, parse_override
from qtrain.recipes.registry import get_recipe, load_config
from qtrain.sim.devices import check_device
from qtrain.train.context import Precision
from qtrain.train.distributed import DistInfo
from qtrain.train.loggers import require_loggers

__all__ = ["LoggerChoice", "RunOptions", "Compute", "split_overrides", "load_run_config", "resolve_device",
           "resolve_compute"]

LoggerChoice = Literal["csv", "tensorboard", "mlflow", "wandb"]


@dataclass
class RunOptions:
    """Options of every run, whatever the recipe (``--set KEY=VALUE`` like the recipe's fields)."""

    loggers: tuple[LoggerChoice, ...] = option(
        (), "metric loggers besides metrics.csv (always written): tensorboard, mlflow, wandb; comma-separated",
        aliases=("logger", "log", "logging"))
    device: str = option("cpu", "where the models train and the data live: cpu, cuda, cuda:N, or auto (cuda when "
                                "a GPU is visible, else cpu)", aliases=("gpu", "dev"))
    precision: Literal["float32", "bf16", "fp16"] = option(
        "float32", "the target network's forward: float32, or autocast to bf16 / fp16 (fp16 on CUDA only); "
                   "Quantum-Train generators stay in full precision", aliases=("dtype", "amp", "autocast"))


@dataclass(frozen=True)
class Compute:
    """Where and how a run computes, resolved: the device (never ``auto``), the precision and the processes."""

    device: torch.device
    precision: Precision
    nproc: int = 1

    def record(self) -> dict[str, Any]:
        """What ``run.json`` and ``summary.json`` keep (key ``compute``)."""
        return {"device": str(self.device), "precision": self.precision.value, "nproc": self.nproc}


_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


def resolve_device(value: str, dist: DistInfo | None = None) -> torch.device:
    """The device of ``device=value``: ``auto`` -> ``cuda`` if available else ``cpu``; CUDA checked to exist.

    Under data parallelism a bare ``cuda`` becomes ``cuda:<LOCAL_RANK>`` (one GPU per process).

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
        >>> resolve_device("tpu")
        Traceback (most recent call last):
        ...
        ValueError: device='tpu' is not a device; use 'cpu', 'cuda', 'cuda:N' or 'auto'

    Raises:
        ValueError: an unknown device, CUDA asked for and absent, a CUDA index out of range, or
            ``cuda:N`` with several processes (each process takes its own GPU).
    """
    if not isinstance(value, str) or not _DEVICE.fullmatch(value):
        raise ValueError(f"device={short(value)} is not a device; use 'cpu', 'cuda', 'cuda:N' or 'auto'")
    if value == "auto":
        value = "cuda" if torch.cuda.is_available() else "cpu"
    dev = check_device(value, "device")
    if dist is not None and dev.type == "cuda":
        if dev.index is not None:
            raise ValueError(f"device={value!r} with {dist.world_size} processes: each process takes its own GPU "
                             f"(cuda:<LOCAL_RANK>); use device=cuda")
        dev = check_device(f"cuda:{dist.local_rank}", "device")
    return dev


def _check_nproc(nproc: int, device: torch.device) -> None:
    """One process per GPU; on the CPU at most 4 per core (gloo runs, but slower with every extra process)."""
    if nproc == 1:
        return
    most = torch.cuda.device_count() if device.type == "cuda" else 4 * (os.cpu_count() or 1)
    if nproc > most:
        where = f"{most} CUDA device(s) visible" if device.type == "cuda" else f"{os.cpu_count()} CPU core(s) here"
        raise ValueError(f"nproc={nproc} is more than {where} allow (at most {most}); use --nproc {most} or fewer")


def resolve_compute(recipe: str, opts: RunOptions, nproc: int = 1, dist: DistInfo | None = None) -> Compute:
    """The run's :class:`Compute`, or one error naming the option, the value and the fix.

    A recipe that cannot honour an option (``Recipe.limits``) refuses a non-default value; ``auto``
    then means the CPU.
    """
    limits = get_recipe(recipe).limits
    if not isinstance(nproc, int) or isinstance(nproc, bool) or nproc < 1:
        raise ValueError(f"nproc={short(nproc)} must be a positive integer (processes training data-parallel)")
    if dist is None:
        _check_nproc(nproc, resolve_device("cpu" if "device" in limits else opts.device))
    nproc = dist.world_size if dist is not None else nproc  # under torchrun: its processes
    for key, value, default in (("nproc", nproc, 1), ("device", opts.device, "cpu"),
                                ("precision", opts.precision, "float32")):
        if key in limits and value not in (default, "auto"):
            raise ValueError(f"{key}={value!r}: recipe {recipe} cannot honour it: {limits[key]}; "
                             f"use {key}={default} (the default)")
    device = resolve_device("cpu" if "device" in limits else opts.device, dist)
    precision = Precision.parse(opts.precision)
    if precision is Precision.FP16 and device.type != "cuda":
        raise ValueError(f"precision='fp16' needs a CUDA device but device={str(device)!r}; use precision=bf16 "
                         "on the CPU, or device=cuda with a GPU")
    return Compute(device, precision, nproc)


def split_overrides(recipe: str, overrides: Iterable[str]) -> tuple[list[str], list[str]]:
    """``(recipe overrides, run-option overrides)``: a key goes to the run options when it names one
    (or, not being a recipe field, is close to one, so that a typo gets the run option's suggestion)."""
    names = {f.name: f.metadata.get("aliases", ()) for f in dataclasses.fields(RunOptions)}
    recipe_keys = {f.name for f in dataclasses.fields(get_recipe(recipe).config_cls)}
    ours, theirs = [], []
    for text in overrides:
        key = parse_override(text)[0]
        near = key not in recipe_keys and (any(key in a for a in names.values())
                                           or difflib.get_close_matches(key, list(names), n=1, cutoff=0.8))
        if key in recipe_keys:  # the recipe's own field; ``device`` of a recipe with one is also the run's
            ours.append(text)
            if key in names:
                theirs.append(text)
        else:
            (theirs if key in names or near else ours).append(text)
    return ours, theirs


def load_run_config(recipe: str, preset: str | None = None, overrides: Iterable[str] = (),
                    seed: int | None = None) -> tuple[Any, RunOptions]:
    """The recipe's validated config and the :class:`RunOptions`, all problems of both in one error.

    Example:
        >>> cfg, opts = load_run_config("qt_image", "mnist_qt16", ["epochs=2", "loggers=tensorboard"])
        >>> cfg.epochs, opts.loggers
        (2, ('tensorboard',))
    """
    ours, theirs = split_overrides(recipe, overrides)
    recipe_error = options_error = None
    try:
        cfg = load_config(recipe, preset, ours, seed)
    except ConfigError as exc:
        recipe_error = exc
    try:
        opts = build_config(RunOptions, apply_overrides({}, theirs), source="--set")
    except ConfigError as exc:
        options_error = ConfigError("run options", exc.problems, "--set")
    if recipe_error is not None and options_error is not None:
        raise ConfigError(get_recipe(recipe).config_cls.__name__,
                          recipe_error.problems + [f"run option {p}" for p in options_error.problems], "--set")
    if recipe_error is not None or options_error is not None:
        raise recipe_error or options_error  # type: ignore[misc]
    require_loggers(opts.loggers)
    resolve_compute(recipe, opts)  # CUDA absent, fp16 on the CPU, ...: refused before any run folder exists
    return cfg, opts
