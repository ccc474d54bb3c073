"""Running, resuming, exporting, validating, reporting recipes: the functions behind ``qtrain run|export|...``.

Besides a recipe's own fields, every run takes the *run options* of
:class:`~qtrain.recipes.options.RunOptions` through the same ``--set key=value``
(``--set loggers=csv,tensorboard``). The run folder's bookkeeping (creation, checked resume, the
export's metadata) is :mod:`qtrain.recipes.runfolder`.

A run folder's ``run.json`` holds the recipe, preset, seed, overrides, run options, the config's
checksum and the :func:`~qtrain.train.environment.run_environment` (git commit and dirty flag,
library versions, host, threads, device, command line) and the resolved ``compute`` (device,
precision, processes); the exported ``model.safetensors`` carries
the recipe, its config, the commit and the target class in its metadata. A run folder is locked
while a process trains in it.

Data-parallel runs (``run(..., nproc=N)``, ``qtrain run --nproc N``, or any run under ``torchrun``):
every rank validates the config itself, joins the process group, and trains; rank 0 owns the run
folder (lock, ``run.json``, metrics, checkpoints, export, summary) and the console, the other ranks
write into private scratch folders that vanish. ``--nproc`` checks everything before it spawns.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from qtrain._version import __version__
import torch.distributed as torch_dist

from qtrain.config import build_config, config_to_dict, load_config_file
from qtrain.recipes.options import Compute, RunOptions, load_run_config, resolve_compute, split_overrides
from qtrain.recipes.registry import RECIPE_MODULES, RECIPES_ROOT, get_recipe, recipe_names
from qtrain.recipes.runfolder import (RESUME_KEYS, check_checkpoints, reopen_run, resume_run, stamp_export,
                                      stamp_run_export, start_run)
from qtrain.train.context import RunContext, StepHook
from qtrain.train.distributed import (DistInfo, broadcast_object, dist_from_env, init_distributed, launch,
                                      shutdown_distributed)
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
        on_step: StepHook | None = None, progress: RunProgress | None = None, label: str | None = None,
        nproc: int = 1) -> RunResult:
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
        nproc: train data-parallel in this many local processes (gloo on the CPU, NCCL on GPUs; rank 0
            owns the run folder). Under ``torchrun`` the processes exist already: leave it at 1.

    Returns:
        :class:`RunResult` with the folder, the summary and the results table.

    Example:
        >>> res = run("qt_image", "mnist5k_demo", ["epochs=1"], quiet=True)  # doctest: +SKIP
        >>> res.summary["models"]["qt"]["params"]["trainable"]  # doctest: +SKIP
    """
    overrides = list(overrides)
    if resume is not None and (overrides or preset is not None or seed is not None):
        raise ValueError("--resume continues a run with the config in its config.yaml; drop --preset/--set/--seed")
    if recipe is None and resume is None:
        raise ValueError(f"recipe=None; name one of {recipe_names()} (or pass resume=<run dir>)")
    args = {"recipe": recipe, "preset": preset, "overrides": overrides, "seed": seed,
            "resume": None if resume is None else str(resume), "out": str(out), "quiet": quiet, "label": label}
    dist_info = dist_from_env()
    if dist_info is not None:
        if nproc not in (1, dist_info.world_size):
            raise ValueError(f"nproc={nproc} inside a torchrun world of WORLD_SIZE={dist_info.world_size}; "
                             "drop --nproc (torchrun starts the processes)")
        return _run_rank(dist_info, args, on_step, progress)
    if nproc != 1:
        return _launch_ranks(args, nproc, on_step, progress)
    with contextlib.ExitStack() as held:  # the run folder stays locked until its summary is written
        rd, recipe, cfg, opts, notices = _open_run(args, held)
        compute = resolve_compute(recipe, opts)
        return _run_in(rd, recipe, cfg, opts, compute, notices, args, on_step, progress)


def _open_run(args: dict[str, Any], held: contextlib.ExitStack) -> tuple[RunDir, str, Any, RunOptions, list[str]]:
    """The run folder (new, or the resumed one repaired and checked), locked; recipe, config, options, notices."""
    if args["resume"] is not None:
        return resume_run(args["resume"], args["recipe"], held)
    rd, cfg, opts = start_run(args["recipe"], args["preset"], args["overrides"], args["seed"], args["out"],
                              args["label"])
    held.enter_context(rd.lock())
    return rd, args["recipe"], cfg, opts, []


def _run_in(rd: RunDir, recipe: str, cfg: Any, opts: RunOptions, compute: Compute, notices: list[str],
            args: dict[str, Any], on_step: StepHook | None, progress: RunProgress | None,
            dist_info: DistInfo | None = None) -> RunResult:
    """The owner of the run folder (the only process, or rank 0): console, training, export, summary."""
    resumed = args["resume"] is not None
    notices = notices + _plot_notices(cfg)
    reporter = None if args["quiet"] else (progress or RunProgress())
    if reporter is not None:
        reporter.run_started(rd.path, resumed=resumed)
    t0 = time.perf_counter()
    output, env = _train(recipe, cfg, opts, compute, rd, resumed, args["quiet"], on_step, reporter, dist_info)
    stamp_run_export(rd, recipe, cfg, env)
    summary = _finish(rd, recipe, cfg, output.summary, resumed=resumed, t0=t0, notices=notices)
    return RunResult(rd.path, summary, output.table, notices)


# ----------------------------------------------------------------------------- data-parallel
def _peek_options(args: dict[str, Any]) -> tuple[str, RunOptions]:
    """The recipe and run options of a run about to start or resume, without touching its folder."""
    if args["resume"] is not None:
        info = RunDir.open(args["resume"]).read_info()
        return info["recipe"], build_config(RunOptions, info.get("run_options") or {}, source="run.json")
    return args["recipe"], load_run_config(args["recipe"], args["preset"], args["overrides"], args["seed"])[1]


def _launch_ranks(args: dict[str, Any], nproc: int, on_step: StepHook | None,
                  progress: RunProgress | None) -> RunResult:
    """``--nproc N``: check everything here (errors before any process starts), then spawn the ranks."""
    if on_step is not None or progress is not None:
        raise ValueError(f"nproc={nproc}: on_step and progress hooks cannot cross into the spawned processes; "
                         "use nproc=1, or torchrun and a hook inside the script")
    recipe, opts = _peek_options(args)
    resolve_compute(recipe, opts, nproc)
    run_dir, summary, table, notices = launch(_rank_entry, nproc, args)
    return RunResult(Path(run_dir), summary, table, notices)


def _rank_entry(**args: Any) -> tuple[str, dict[str, Any], list[dict[str, Any]], list[str]]:
    """One spawned rank of ``--nproc`` (its environment names its rank): the run, as picklable parts."""
    res = run(**args)
    return str(res.run_dir), res.summary, res.table, res.notices


def _run_rank(dist_info: DistInfo, args: dict[str, Any], on_step: StepHook | None,
              progress: RunProgress | None) -> RunResult:
    """One rank of a data-parallel run: rank 0 owns the run folder; the others train beside it in scratch."""
    recipe, opts = _peek_options(args)
    compute = resolve_compute(recipe, opts, dist=dist_info)
    owned = not torch_dist.is_initialized()
    init_distributed(dist_info, compute.device)
    try:
        if dist_info.is_main:
            with contextlib.ExitStack() as held:
                rd, recipe, cfg, opts, notices = _open_run(args, held)
                broadcast_object((str(rd.path), recipe, cfg))
                result = _run_in(rd, recipe, cfg, opts, compute, notices, args, on_step, progress, dist_info)
            broadcast_object(result.summary)
            return result
        path, recipe, cfg = broadcast_object(None)
        with tempfile.TemporaryDirectory(prefix="qtrain-rank") as tmp:  # writes of ranks > 0 go nowhere
            scratch = _scratch_dir(Path(path), Path(tmp), args["resume"] is not None)
            output, _ = _train(recipe, cfg, opts, compute, scratch, args["resume"] is not None, True, None, None,
                               dist_info)
        return RunResult(Path(path), broadcast_object(None), output.table)
    finally:
        if owned:
            shutdown_distributed()


def _scratch_dir(run_dir: Path, tmp: Path, resumed: bool) -> RunDir:
    """A private folder for a rank > 0, holding copies of the checkpoints and metrics a resume reads."""
    if resumed:
        if (run_dir / "checkpoints").is_dir():
            shutil.copytree(run_dir / "checkpoints", tmp / "checkpoints")
        if (run_dir / "metrics.jsonl").is_file():
            shutil.copy2(run_dir / "metrics.jsonl", tmp / "metrics.jsonl")
    return RunDir(tmp)


def _train(recipe: str, cfg: Any, opts: RunOptions, compute: Compute, rd: RunDir, resumed: bool, quiet: bool,
           on_step: StepHook | None, reporter: RunProgress | None,
           dist_info: DistInfo | None = None) -> tuple[Any, dict[str, Any]]:
    """Seed, threads, environment into ``run.json``, loggers; the recipe's ``train``."""
    main = dist_info is None or dist_info.is_main
    loggers = open_loggers(opts.loggers, rd.path, config_to_dict(cfg), records=rd.read_metrics()) if main else []
    observers = [*loggers, *([reporter] if reporter is not None else [])]
    try:
        with preserved_torch_settings(), (reporter.active() if reporter else contextlib.nullcontext()):
            seed_everything(cfg.seed)
            if getattr(cfg, "num_threads", None):  # the recipe sets it too; set here so run.json records it
                import torch

                torch.set_num_threads(cfg.num_threads)
            env = _record_environment(rd, cfg, resumed, compute) if main else {}
            ctx = RunContext(rd, resume=resumed, quiet=quiet, on_step=on_step, observers=observers,
                             device=compute.device, precision=compute.precision, dist=dist_info)
            return get_recipe(recipe).train(cfg, ctx), env
    finally:
        for logger in loggers:
            logger.close()


def _record_environment(rd: RunDir, cfg: Any, resumed: bool, compute: Compute) -> dict[str, Any]:
    env = {**run_environment(device=str(compute.device)), "compute": compute.record()}
    info = rd.read_info()
    if resumed:
        info.setdefault("resumes", []).append(env)
    else:
        info["environment"] = env
    info["compute"] = compute.record()  # the latest: a resume may run elsewhere
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
                    "compute": info.get("compute"),
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
