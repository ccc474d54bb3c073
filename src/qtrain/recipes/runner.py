"""Running, resuming, exporting, validating, reporting recipes: the functions behind ``qtrain run|export|...``.

Besides a recipe's own fields, every run takes the *run options* of :class:`RunOptions` through the
same ``--set key=value`` (``--set loggers=csv,tensorboard``): the runner splits them off before the
recipe's config is built, so they work for every recipe without a field in its dataclass, and
keeps them in ``run.json`` (a resumed run reuses them).

A run folder's ``run.json`` holds the recipe, preset, seed, overrides, run options and the
:func:`~qtrain.train.environment.run_environment` (git commit and dirty flag, library versions,
host, threads, device, command line); the exported ``model.safetensors`` carries the recipe, its
config, the commit and the target class in its metadata.
"""
from __future__ import annotations

import contextlib
import dataclasses
import difflib
import importlib
import importlib.util
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal

from qtrain._version import __version__
from qtrain.config import (ConfigError, apply_overrides, build_config, config_to_dict, dump_config, load_config_file,
                           option, parse_override, read_yaml)
from qtrain.recipes.registry import RECIPE_MODULES, RECIPES_ROOT, get_recipe, load_config, recipe_names
from qtrain.train.context import RunContext, StepHook
from qtrain.train.environment import run_environment
from qtrain.train.loggers import open_loggers, require_loggers
from qtrain.train.plots import plot_curves
from qtrain.train.progress import RunProgress
from qtrain.train.rundir import RunDir, peak_memory
from qtrain.train.seed import preserved_torch_settings, seed_everything

__all__ = ["RunOptions", "RunResult", "run", "export", "validate", "report", "report_hook", "paper_protocol",
           "load_run_config", "split_overrides", "stamp_export"]

LoggerChoice = Literal["csv", "tensorboard", "mlflow", "wandb"]


@dataclass
class RunOptions:
    """Options of every run, whatever the recipe (``--set KEY=VALUE`` like the recipe's fields)."""

    loggers: tuple[LoggerChoice, ...] = option(
        (), "metric loggers besides metrics.csv (always written): tensorboard, mlflow, wandb; comma-separated",
        aliases=("logger", "log", "logging"))


@dataclass
class RunResult:
    """The outcome of :func:`run`: the run folder, ``summary.json``'s content and the results table."""

    run_dir: Path
    summary: dict[str, Any]
    table: list[dict[str, Any]] = field(default_factory=list)


# ----------------------------------------------------------------------------- configs
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
    return cfg, opts


def _command_line(recipe: str, preset: str | None, overrides: list[str], seed: int) -> str:
    parts = ["qtrain run", recipe] + ([f"--preset {preset}"] if preset else []) + [f"--seed {seed}"]
    return " ".join(parts + [f"--set {o}" for o in overrides])


def _start(recipe: str, preset: str | None, overrides: list[str], seed: int | None, out: str | Path,
           label: str | None) -> tuple[RunDir, Any, RunOptions]:
    cfg, opts = load_run_config(recipe, preset, overrides, seed)
    preset_name = Path(preset).stem if preset else "default"
    rd = RunDir.create(out, recipe, label or preset_name, cfg.seed)
    rd.write_info({"recipe": recipe, "preset": preset_name, "seed": cfg.seed, "overrides": overrides,
                   "run_options": config_to_dict(opts), "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                   "qtrain_version": __version__})
    dump_config(cfg, rd.config_path, header=f"full config of this run; reproduce with:\n"
                                           f"{_command_line(recipe, preset, overrides, cfg.seed)}")
    return rd, cfg, opts


def _reopen(resume: str | Path, recipe: str | None) -> tuple[RunDir, str, Any, RunOptions]:
    rd = RunDir.open(resume)
    info = rd.read_info()
    if recipe is not None and recipe != info["recipe"]:
        raise ValueError(f"recipe={recipe!r} but run folder {str(resume)!r} was made by recipe {info['recipe']!r}; "
                         f"run `qtrain run {info['recipe']} --resume {resume}`")
    cfg = build_config(get_recipe(info["recipe"]).config_cls, read_yaml(rd.config_path), source=str(rd.config_path))
    opts = build_config(RunOptions, info.get("run_options") or {}, source=str(rd.info_path))
    return rd, info["recipe"], cfg, opts


def _check_plot_backend(cfg: Any) -> None:
    if getattr(cfg, "plots", False) and importlib.util.find_spec("matplotlib") is None:
        raise ImportError('plots=true needs matplotlib: pip install "qtrain[plot]", or run with --set plots=false')


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
    if resume is not None:
        if overrides or preset is not None or seed is not None:
            raise ValueError("--resume continues a run with the config in its config.yaml; drop --preset/--set/--seed")
        rd, recipe, cfg, opts = _reopen(resume, recipe)
    else:
        if recipe is None:
            raise ValueError(f"recipe=None; name one of {recipe_names()} (or pass resume=<run dir>)")
        rd, cfg, opts = _start(recipe, preset, overrides, seed, out, label)
    _check_plot_backend(cfg)
    reporter = None if quiet else (progress or RunProgress())
    if reporter is not None:
        reporter.run_started(rd.path, resumed=resume is not None)
    t0 = time.perf_counter()
    output, env = _train(recipe, cfg, opts, rd, resume is not None, quiet, on_step, reporter)
    _stamp_run_export(rd, recipe, cfg, env)
    summary = _finish(rd, recipe, cfg, output.summary, resumed=resume is not None, t0=t0)
    return RunResult(rd.path, summary, output.table)


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


def _finish(rd: RunDir, recipe: str, cfg: Any, extra: dict[str, Any], resumed: bool, t0: float) -> dict[str, Any]:
    """Plots, then ``summary.json``: run identity, wall time, peak memory, config and the recipe's summary."""
    info = rd.read_info()
    summary = {"recipe": recipe, "preset": info["preset"], "seed": cfg.seed, "run_dir": str(rd.path),
               "qtrain_version": __version__, "resumed": resumed, "overrides": info.get("overrides", [])}
    if getattr(cfg, "plots", False):
        summary["plots"] = [str(plot_curves(rd.read_metrics(), rd.path / "curves.png"))]
    summary.update({"wall_time_s": round(time.perf_counter() - t0, 3), "peak_memory": peak_memory(),
                    "config": config_to_dict(cfg), **extra})
    rd.write_summary(summary)
    return summary


# ----------------------------------------------------------------------------- export
def stamp_export(path: str | Path, metadata: dict[str, str]) -> Path:
    """Add ``metadata`` to a ``.safetensors`` file's header (tensors unchanged; atomic rewrite).

    Example:
        >>> stamp_export("runs/x/model.safetensors", {"qtrain_recipe": "qt_image"})  # doctest: +SKIP
    """
    from safetensors import safe_open
    from safetensors.torch import save

    from qtrain.train.checkpoint import atomic_write

    with safe_open(str(path), framework="pt") as fh:
        meta = dict(fh.metadata() or {})
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118 (safe_open is not a dict)
    meta.update({k: str(v) for k, v in metadata.items()})
    return atomic_write(path, lambda out: out.write(save(tensors, metadata=meta)))


def _stamp_run_export(rd: RunDir, recipe: str, cfg: Any, env: dict[str, Any] | None) -> None:
    path = rd.path / "model.safetensors"
    if not path.is_file():
        return
    git = (env or {}).get("git") or {}
    stamp_export(path, {"qtrain_recipe": recipe, "qtrain_config": json.dumps(config_to_dict(cfg)),
                        "qtrain_version": __version__, "qtrain_run": rd.path.name,
                        "qtrain_commit": str(git.get("commit")), "qtrain_dirty": str(git.get("dirty"))})


def export(run_dir: str | Path) -> Path:
    """Write (or refresh) ``<run_dir>/model.safetensors`` from the run's last checkpoint.

    Example:
        >>> export("runs/qt_image__mnist5k_demo__s0__20250101-000000")  # doctest: +SKIP
    """
    rd, recipe, cfg, _ = _reopen(run_dir, None)
    path = get_recipe(recipe).export(cfg, rd)
    _stamp_run_export(rd, recipe, cfg, rd.read_info().get("environment"))
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
