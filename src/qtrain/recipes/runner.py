"""Running, resuming, exporting, validating, reporting recipes: the functions behind ``qtrain run|export|...``.

Besides a recipe's own fields, every run takes the *run options* of
:class:`~qtrain.recipes.options.RunOptions` through the same ``--set key=value``
(``--set loggers=csv,tensorboard``). The run folder's bookkeeping (creation, checked resume, the
export's metadata) is :mod:`qtrain.recipes.runfolder`.

A run folder's ``run.json`` holds the recipe, preset, seed, overrides, run options, the config's
checksum and the :func:`~qtrain.train.environment.run_environment` (git commit and dirty flag,
library versions, host, threads, device, command line); the exported ``model.safetensors`` carries
the recipe, its config, the commit and the target class in its metadata. A run folder is locked
while a process trains in it.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from qtrain._version import __version__
from qtrain.config import config_to_dict, load_config_file
from qtrain.recipes.options import RunOptions, load_run_config, split_overrides
from qtrain.recipes.registry import RECIPE_MODULES, RECIPES_ROOT, get_recipe, recipe_names
from qtrain.recipes.runfolder import (RESUME_KEYS, check_checkpoints, reopen_run, resume_run, stamp_export,
                                      stamp_run_export, start_run)
from qtrain.train.context import RunContext, StepHook
from qtrain.train.environment import run_environment
from qtrain.train.loggers import open_loggers
from qtrain.train.plots import plot_curves
from qtrain.train.progress import RunProgress
from qtrain.train.rundir import RunDir, peak_memory
from qtrain.train.seed import preserved_torch_settings, seed_everything

__all__ = ["RunOptions", "RunResult", "run", "export", "validate", "report", "report_hook", "paper_protocol",
           "load_run_config", "split_overrides", "stamp_export", "RESUME_KEYS", "PLOTS_SKIPPED"]

_log = logging.getLogger(__name__)
PLOTS_SKIPPED = 'plots skipped: matplotlib is not installed (pip install "qtrain[plot]" for curves.png)'


@dataclass
class RunResult:
    """The outcome of :func:`run`: the run folder, ``summary.json``'s content, the results table and notices.

    ``notices`` are one-line remarks for the user (e.g. plots skipped for want of matplotlib);
    they are also in ``summary["notices"]`` and logged as warnings.
    """

    run_dir: Path
    summary: dict[str, Any]
    table: list[dict[str, Any]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def _plot_notices(cfg: Any) -> list[str]:
    # a default (plots=true) must not need an optional extra: skip the plots and say so
    if getattr(cfg, "plots", False) and importlib.util.find_spec("matplotlib") is None:
        _log.warning(PLOTS_SKIPPED)
        return [PLOTS_SKIPPED]
    return []


# ----------------------------------------------------------------------------- running
def run(recipe: str | None, preset: str | None = None, overrides: Iterable[str] = (), seed: int | None = None,
        resume: str | Path | None = None, out: str | Path = "runs", quiet: bool = False,
        on_step: StepHook | None = None, progress: RunProgress | None = None, label: str | None = None) -> RunResult:
    """Run (or resume) a recipe and write its run folder.

    Args:
        recipe: registered recipe name (may be ``None`` with ``resume``: taken from the run folder).
        preset: preset name of the recipe, or a path to a YAML file of differences.
        overrides: ``key=value`` strings applied after the preset: recipe fields and :class:`RunOptions`.
        seed: overrides the config's ``seed``.
        resume: an existing run folder to continue from its last checkpoints (config from its ``config.yaml``).
        out: parent folder of new run folders.
        quiet: no console output (no run-folder line, bars or epoch lines).
        on_step: hook after every optimizer step ``(tag, step, loss)`` (tests simulate crashes with it).
        progress: where the console output goes (default: a :class:`RunProgress` on stderr).
        label: the middle of the run folder's name instead of the preset's (sweeps name grid points).

    Returns:
        :class:`RunResult` with the folder, the summary and the results table.

    Example:
        >>> res = run("qt_image", "mnist5k_demo", ["epochs=1"], quiet=True)  # doctest: +SKIP
        >>> res.summary["models"]["qt"]["params"]["trainable"]  # doctest: +SKIP
    """
    overrides = list(overrides)
    with contextlib.ExitStack() as held:  # the run folder stays locked until its summary is written
        if resume is not None:
            if overrides or preset is not None or seed is not None:
                raise ValueError("--resume continues a run with the config in its config.yaml; "
                                 "drop --preset/--set/--seed")
            rd, recipe, cfg, opts, notices = resume_run(resume, recipe, held)
        else:
            if recipe is None:
                raise ValueError(f"recipe=None; name one of {recipe_names()} (or pass resume=<run dir>)")
            rd, cfg, opts = start_run(recipe, preset, overrides, seed, out, label)
            held.enter_context(rd.lock())
            notices = []
        notices += _plot_notices(cfg)
        reporter = None if quiet else (progress or RunProgress())
        if reporter is not None:
            reporter.run_started(rd.path, resumed=resume is not None)
        t0 = time.perf_counter()
        output, env = _train(recipe, cfg, opts, rd, resume is not None, quiet, on_step, reporter)
        stamp_run_export(rd, recipe, cfg, env)
        summary = _finish(rd, recipe, cfg, output.summary, resumed=resume is not None, t0=t0, notices=notices)
    return RunResult(rd.path, summary, output.table, notices)


def _train(recipe: str, cfg: Any, opts: RunOptions, rd: RunDir, resumed: bool, quiet: bool,
           on_step: StepHook | None, reporter: RunProgress | None) -> tuple[Any, dict[str, Any]]:
    """Seed, threads, environment into ``run.json``, loggers; the recipe's ``train``."""
    loggers = open_loggers(opts.loggers, rd.path, config_to_dict(cfg), records=rd.read_metrics())
    observers = [*loggers, *([reporter] if reporter is not None else [])]
    try:
        with preserved_torch_settings(), (reporter.active() if reporter else contextlib.nullcontext()):
            seed_everything(cfg.seed)
            if getattr(cfg, "num_threads", None):  # the recipe sets it too; set here so run.json records it
                import torch

                torch.set_num_threads(cfg.num_threads)
            env = _record_environment(rd, cfg, resumed)
            ctx = RunContext(rd, resume=resumed, quiet=quiet, on_step=on_step, observers=observers)
            return get_recipe(recipe).train(cfg, ctx), env
    finally:
        for logger in loggers:
            logger.close()


def _record_environment(rd: RunDir, cfg: Any, resumed: bool) -> dict[str, Any]:
    env = run_environment(device=getattr(cfg, "device", None))
    info = rd.read_info()
    if resumed:
        info.setdefault("resumes", []).append(env)
    else:
        info["environment"] = env
    rd.write_info(info)
    return env


def _finish(rd: RunDir, recipe: str, cfg: Any, extra: dict[str, Any], resumed: bool, t0: float,
            notices: list[str]) -> dict[str, Any]:
    """Plots, then ``summary.json``: run identity, wall time, peak memory, config and the recipe's summary."""
    info = rd.read_info()
    summary = {"recipe": recipe, "preset": info["preset"], "seed": cfg.seed, "run_dir": str(rd.path),
               "qtrain_version": __version__, "resumed": resumed, "overrides": info.get("overrides", [])}
    if notices:
        summary["notices"] = list(notices)
    if getattr(cfg, "plots", False) and PLOTS_SKIPPED not in notices:
        summary["plots"] = [str(plot_curves(rd.read_metrics(), rd.path / "curves.png"))]
    summary.update({"wall_time_s": round(time.perf_counter() - t0, 3), "peak_memory": peak_memory(),
                    "config": config_to_dict(cfg), **extra})
    rd.write_summary(summary)
    return summary


# ----------------------------------------------------------------------------- export
def export(run_dir: str | Path) -> Path:
    """Write (or refresh) ``<run_dir>/model.safetensors`` from the run's last checkpoint.

    Example:
        >>> export("runs/qt_image__mnist5k_demo__s0__20250101-000000")  # doctest: +SKIP
    """
    rd, recipe, cfg, _ = reopen_run(run_dir, None)
    check_checkpoints(rd)
    path = get_recipe(recipe).export(cfg, rd)
    stamp_run_export(rd, recipe, cfg, rd.read_info().get("environment"))
    return path


def validate(path: str | Path, recipe: str | None = None) -> Any:
    """Validate a preset YAML against its recipe's config; returns the config.

    Args:
        path: the YAML file.
        recipe: the recipe; default: the name of the file's folder (``presets/<recipe>/x.yaml``).

    Raises:
        qtrain.config.ConfigError: with every problem of the file.
    """
    path = Path(path)
    if recipe is None:
        recipe = path.resolve().parent.name
        if recipe not in recipe_names():
            raise ValueError(f"cannot tell the recipe of {str(path)!r} from its folder {recipe!r}; "
                             f"pass --recipe, one of {recipe_names()} "
                             f"(presets live in {RECIPES_ROOT}/<paper>/presets/<recipe>/)")
    return load_config_file(get_recipe(recipe).config_cls, path)


# ----------------------------------------------------------------------------- report
def report_hook(recipe: str) -> Any:
    """The report hook of a registered recipe (``None``: no hook, or a recipe not registered here)."""
    return get_recipe(recipe).report if recipe in RECIPE_MODULES else None


def paper_protocol(recipe: str, config: dict[str, Any]) -> Any:
    """The paper's protocol for a run of ``recipe`` with ``config``, from ``<paper>/paper.py``'s
    ``paper_protocol(recipe, config)`` (``None``: the recipe is not registered, its paper module
    defines none, or the run has no paper counterpart)."""
    module = RECIPE_MODULES.get(recipe, "")
    if "." not in module:
        return None
    try:
        if importlib.util.find_spec(f"{module.rsplit('.', 1)[0]}.paper") is None:
            return None
    except ModuleNotFoundError:  # the recipe's module is not inside a package
        return None
    package = module.rsplit(".", 1)[0]
    fn = getattr(importlib.import_module(f"{package}.paper"), "paper_protocol", None)
    return fn(recipe, config) if fn is not None else None


def report(path: str | Path, out: str | Path | None = None) -> Path:
    """Write ``report.html``, ``report.md`` and the PNGs for the runs at ``path`` (``qtrain report PATH``).

    Each recipe's runs form one section made by its report hook (the generic section for a recipe
    without one), with a protocol table (epochs, data, settings, overrides of each run) that flags
    every difference from the paper's protocol.

    Args:
        path: a run folder, a sweep folder, or a folder of those.
        out: output folder (default ``path/report``).

    Returns:
        The path of ``report.html``.

    Example:
        >>> page = report("runs/qet_amc__smoke__s0__20250101-000000")  # doctest: +SKIP
    """
    from qtrain.report.build import build_report  # matplotlib and the recipes' figures load only here

    return build_report(path, out, hooks=report_hook, protocols=paper_protocol)
