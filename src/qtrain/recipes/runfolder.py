"""A run folder's life outside training: create it, reopen it for a resume (checked), stamp its export.

* :func:`start_run` -- validate the config, create ``runs/<recipe>__<preset>__s<seed>__<time>/``, write
  ``config.yaml`` then ``run.json`` (with the config's SHA-256, the run options and the overrides).
* :func:`resume_run` -- lock the folder, repair what a kill can leave (stale temp files, a half
  line of ``metrics.jsonl``), check ``config.yaml`` against its checksum and every checkpoint.
* :func:`stamp_export` -- name the recipe, config, commit and run in ``model.safetensors``'s metadata.

Example:
    >>> rd, cfg, opts = start_run("qt_image", "mnist5k_demo", ["epochs=1"], None, "/tmp/runs")  # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

from qtrain._fileio import atomic_write, safetensors_bytes
from qtrain._version import __version__
from qtrain.config import absent_values, build_config, config_fields, config_to_dict, dump_config, read_yaml
from qtrain.recipes.options import RunOptions, load_run_config
from qtrain.recipes.registry import get_recipe
from qtrain.train.checkpoint import CheckpointError, load_checkpoint
from qtrain.train.rundir import RunDir, RunFolderError

__all__ = ["RESUME_KEYS", "command_line", "start_run", "reopen_run", "resume_run", "check_checkpoints",
           "stamp_export", "stamp_run_export"]

_log = logging.getLogger(__name__)
RESUME_KEYS = ("tag", "model", "optimizer", "scheduler", "rng", "loader", "epoch", "step_in_epoch", "global_step",
               "sums", "early_stopping", "history", "finished", "train_time_s", "lr")
"""Entries of a ``last.pt`` that :class:`qtrain.train.TrainLoop` reads back when resuming."""


def command_line(recipe: str, preset: str | None, overrides: list[str], seed: int) -> str:
    """The ``qtrain run`` command that reproduces a run."""
    parts = ["qtrain run", recipe] + ([f"--preset {preset}"] if preset else []) + [f"--seed {seed}"]
    return " ".join(parts + [f"--set {o}" for o in overrides])


def start_run(recipe: str, preset: str | None, overrides: list[str], seed: int | None, out: str | Path,
              label: str | None = None) -> tuple[RunDir, Any, RunOptions]:
    """A new run folder with its ``config.yaml`` and ``run.json``; the validated config and run options."""
    cfg, opts = load_run_config(recipe, preset, overrides, seed)
    preset_name = Path(preset).stem if preset else "default"
    rd = RunDir.create(out, recipe, label or preset_name, cfg.seed)
    # config.yaml first, then run.json with its checksum: a resume detects a cut-short config.yaml
    text = dump_config(cfg, rd.config_path, header=f"full config of this run; reproduce with:\n"
                                                  f"{command_line(recipe, preset, overrides, cfg.seed)}")
    rd.write_info({"recipe": recipe, "preset": preset_name, "seed": cfg.seed, "overrides": overrides,
                   "run_options": config_to_dict(opts), "created": _now(), "qtrain_version": __version__,
                   "config_sha256": hashlib.sha256(text.encode()).hexdigest()})
    return rd, cfg, opts


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def _read_config(rd: RunDir, info: dict[str, Any], cls: type) -> Any:
    """``config.yaml`` checked against run.json's checksum and for completeness (it holds every field)."""
    where = f"run folder {str(rd.path)!r}: config.yaml"
    if not rd.config_path.is_file():
        raise RunFolderError(f"{where} is missing; the folder is damaged, start a new run")
    want = info.get("config_sha256")
    if want is not None and hashlib.sha256(rd.config_path.read_bytes()).hexdigest() != want:
        raise RunFolderError(f"{where} does not match the SHA-256 recorded in run.json (cut short by a crash, or "
                             "edited); restore it, or start a new run with the settings you want")
    values = {**absent_values(cls), **read_yaml(rd.config_path)}  # fields added since: the value runs had then
    missing = [f.name for f in config_fields(cls) if f.name not in values]
    if missing:
        raise RunFolderError(f"{where} lacks the fields {missing[:5]}{' ...' if len(missing) > 5 else ''}; a run's "
                             "config.yaml holds every field, so the file is truncated; start a new run")
    return build_config(cls, values, source=str(rd.config_path))


def reopen_run(path: str | Path, recipe: str | None) -> tuple[RunDir, str, Any, RunOptions]:
    """An existing run folder, its recipe, its checked config and its run options."""
    rd = RunDir.open(path)
    info = rd.read_info()
    if recipe is not None and recipe != info["recipe"]:
        raise ValueError(f"recipe={recipe!r} but run folder {str(path)!r} was made by recipe {info['recipe']!r}; "
                         f"run `qtrain run {info['recipe']} --resume {path}`")
    cfg = _read_config(rd, info, get_recipe(info["recipe"]).config_cls)
    opts = build_config(RunOptions, info.get("run_options") or {}, source=str(rd.info_path))
    return rd, info["recipe"], cfg, opts


def check_checkpoints(rd: RunDir) -> None:
    """Before resuming: every checkpoint intact and finite, every ``last.pt`` complete (one clear error if not)."""
    for path in sorted((rd.path / "checkpoints").glob("*/*.pt")):
        state = load_checkpoint(path)
        missing = [k for k in (RESUME_KEYS if path.name == "last.pt" else ("model",)) if k not in state]
        if missing or (path.name == "last.pt" and state["tag"] != path.parent.name):
            what = f"lacks {missing}" if missing else f"belongs to model {state['tag']!r}"
            raise CheckpointError(f"checkpoint {str(path)!r} {what}; it was not written by this run's training "
                                  "loop; delete it (training restarts that model) or start a new run")


def resume_run(path: str | Path, recipe: str | None,
               held: contextlib.ExitStack) -> tuple[RunDir, str, Any, RunOptions, list[str]]:
    """Lock the folder (before repairing it: it may be in use), repair it, check its config and checkpoints.

    Returns the folder, recipe, config, run options and the repairs made (one line each, also logged).
    """
    held.enter_context(RunDir.open(path).lock())
    repaired = RunDir.open(path).repair()
    for line in repaired:
        _log.warning(line)
    rd, recipe, cfg, opts = reopen_run(path, recipe)
    check_checkpoints(rd)
    return rd, recipe, cfg, opts, repaired


def stamp_export(path: str | Path, metadata: dict[str, str]) -> Path:
    """Add ``metadata`` to a ``.safetensors`` file's header (tensors unchanged; atomic, canonical rewrite).

    Example:
        >>> stamp_export("runs/x/model.safetensors", {"qtrain_recipe": "qt_image"})  # doctest: +SKIP
    """
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        meta = dict(fh.metadata() or {})
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118 (safe_open is not a dict)
    meta.update({k: str(v) for k, v in metadata.items()})
    return atomic_write(path, lambda out: out.write(safetensors_bytes(tensors, meta)))


def stamp_run_export(rd: RunDir, recipe: str, cfg: Any, env: dict[str, Any] | None) -> None:
    """Name the recipe, config, version, commit and run in the run's ``model.safetensors`` (if written)."""
    path = rd.path / "model.safetensors"
    if not path.is_file():
        return
    git = (env or {}).get("git") or {}
    stamp_export(path, {"qtrain_recipe": recipe, "qtrain_config": json.dumps(config_to_dict(cfg)),
                        "qtrain_version": __version__, "qtrain_run": rd.path.name,
                        "qtrain_commit": str(git.get("commit")), "qtrain_dirty": str(git.get("dirty"))})
