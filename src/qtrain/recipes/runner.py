"""Running, resuming, exporting, validating, reporting recipes: the functions behind ``qtrain run|export|...``."""
from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from qtrain._version import __version__
from qtrain.config import build_config, config_fields, config_to_dict, dump_config, load_config_file, read_yaml
from qtrain.recipes.registry import RECIPE_MODULES, RECIPES_ROOT, get_recipe, load_config, recipe_names
from qtrain.train.checkpoint import CheckpointError, load_checkpoint
from qtrain.train.context import RunContext, StepHook
from qtrain.train.plots import plot_curves
from qtrain.train.rundir import RunDir, RunFolderError, peak_memory
from qtrain.train.seed import preserved_torch_settings, seed_everything

__all__ = ["RunResult", "run", "export", "validate", "report", "report_hook", "RESUME_KEYS"]

_log = logging.getLogger(__name__)
RESUME_KEYS = ("tag", "model", "optimizer", "scheduler", "rng", "loader", "epoch", "step_in_epoch", "global_step",
               "sums", "early_stopping", "history", "finished", "train_time_s", "lr")
"""Entries of a ``last.pt`` that :class:`qtrain.train.TrainLoop` reads back when resuming."""
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


def _command_line(recipe: str, preset: str | None, overrides: list[str], seed: int) -> str:
    parts = ["qtrain run", recipe] + ([f"--preset {preset}"] if preset else []) + [f"--seed {seed}"]
    return " ".join(parts + [f"--set {o}" for o in overrides])


def _start(recipe: str, preset: str | None, overrides: list[str], seed: int | None,
           out: str | Path) -> tuple[RunDir, Any]:
    cfg = load_config(recipe, preset, overrides, seed)
    preset_name = Path(preset).stem if preset else "default"
    rd = RunDir.create(out, recipe, preset_name, cfg.seed)
    # config.yaml first, then run.json with its checksum: a resume detects a cut-short config.yaml
    text = dump_config(cfg, rd.config_path, header=f"full config of this run; reproduce with:\n"
                                                  f"{_command_line(recipe, preset, overrides, cfg.seed)}")
    rd.write_info({"recipe": recipe, "preset": preset_name, "seed": cfg.seed, "overrides": overrides,
                   "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "qtrain_version": __version__,
                   "config_sha256": hashlib.sha256(text.encode()).hexdigest()})
    return rd, cfg


def _read_config(rd: RunDir, info: dict[str, Any], cls: type) -> Any:
    """``config.yaml`` checked against run.json's checksum and for completeness (it holds every field)."""
    where = f"run folder {str(rd.path)!r}: config.yaml"
    if not rd.config_path.is_file():
        raise RunFolderError(f"{where} is missing; the folder is damaged, start a new run")
    want = info.get("config_sha256")
    if want is not None and hashlib.sha256(rd.config_path.read_bytes()).hexdigest() != want:
        raise RunFolderError(f"{where} does not match the SHA-256 recorded in run.json (cut short by a crash, or "
                             "edited); restore it, or start a new run with the settings you want")
    values = read_yaml(rd.config_path)
    missing = [f.name for f in config_fields(cls) if f.name not in values]
    if missing:
        raise RunFolderError(f"{where} lacks the fields {missing[:5]}{' ...' if len(missing) > 5 else ''}; a run's "
                             "config.yaml holds every field, so the file is truncated; start a new run")
    return build_config(cls, values, source=str(rd.config_path))


def _reopen(resume: str | Path, recipe: str | None) -> tuple[RunDir, str, Any]:
    rd = RunDir.open(resume)
    info = rd.read_info()
    if recipe is not None and recipe != info["recipe"]:
        raise ValueError(f"recipe={recipe!r} but run folder {str(resume)!r} was made by recipe {info['recipe']!r}; "
                         f"run `qtrain run {info['recipe']} --resume {resume}`")
    return rd, info["recipe"], _read_config(rd, info, get_recipe(info["recipe"]).config_cls)


def _check_checkpoints(rd: RunDir) -> None:
    """Before resuming: every checkpoint intact and finite, every ``last.pt`` complete (one clear error if not)."""
    for path in sorted((rd.path / "checkpoints").glob("*/*.pt")):
        state = load_checkpoint(path)
        missing = [k for k in (RESUME_KEYS if path.name == "last.pt" else ("model",)) if k not in state]
        if missing or (path.name == "last.pt" and state["tag"] != path.parent.name):
            what = f"lacks {missing}" if missing else f"belongs to model {state['tag']!r}"
            raise CheckpointError(f"checkpoint {str(path)!r} {what}; it was not written by this run's training "
                                  "loop; delete it (training restarts that model) or start a new run")


def _resume_folder(resume: str | Path, recipe: str | None,
                   held: contextlib.ExitStack) -> tuple[RunDir, str, Any, list[str]]:
    """Lock the folder (before repairing it: it may be in use), repair it, check its config and checkpoints."""
    held.enter_context(RunDir.open(resume).lock())
    repaired = RunDir.open(resume).repair()
    for line in repaired:
        _log.warning(line)
    rd, recipe, cfg = _reopen(resume, recipe)
    _check_checkpoints(rd)
    return rd, recipe, cfg, repaired


def _plot_notices(cfg: Any) -> list[str]:
    # a default (plots=true) must not need an optional extra: skip the plots and say so
    if getattr(cfg, "plots", False) and importlib.util.find_spec("matplotlib") is None:
        _log.warning(PLOTS_SKIPPED)
        return [PLOTS_SKIPPED]
    return []


def run(recipe: str | None, preset: str | None = None, overrides: Iterable[str] = (), seed: int | None = None,
        resume: str | Path | None = None, out: str | Path = "runs", quiet: bool = False,
        on_step: StepHook | None = None) -> RunResult:
    """Run (or resume) a recipe and write its run folder.

    Args:
        recipe: registered recipe name (may be ``None`` with ``resume``: taken from the run folder).
        preset: preset name of the recipe, or a path to a YAML file of differences.
        overrides: ``key=value`` strings applied after the preset.
        seed: overrides the config's ``seed``.
        resume: an existing run folder to continue from its last checkpoints (config from its ``config.yaml``).
        out: parent folder of new run folders.
        quiet: no progress bars.
        on_step: hook after every optimizer step ``(tag, step, loss)`` (tests simulate crashes with it).

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
            rd, recipe, cfg, notices = _resume_folder(resume, recipe, held)
        else:
            if recipe is None:
                raise ValueError(f"recipe=None; name one of {recipe_names()} (or pass resume=<run dir>)")
            rd, cfg = _start(recipe, preset, overrides, seed, out)
            held.enter_context(rd.lock())
            notices = []
        notices += _plot_notices(cfg)
        t0 = time.perf_counter()
        with preserved_torch_settings():
            seed_everything(cfg.seed)
            output = get_recipe(recipe).train(cfg, RunContext(rd, resume=resume is not None, quiet=quiet,
                                                              on_step=on_step))
        summary = _finish(rd, recipe, cfg, output.summary, resumed=resume is not None, t0=t0, notices=notices)
    return RunResult(rd.path, summary, output.table, notices)


def _finish(rd: RunDir, recipe: str, cfg: Any, extra: dict[str, Any], resumed: bool, t0: float,
            notices: list[str]) -> dict[str, Any]:
    """Plots, then ``summary.json``: run identity, wall time, peak memory, config and the recipe's summary."""
    summary = {"recipe": recipe, "preset": rd.read_info()["preset"], "seed": cfg.seed, "run_dir": str(rd.path),
               "qtrain_version": __version__, "resumed": resumed}
    if notices:
        summary["notices"] = list(notices)
    if getattr(cfg, "plots", False) and PLOTS_SKIPPED not in notices:
        summary["plots"] = [str(plot_curves(rd.read_metrics(), rd.path / "curves.png"))]
    summary.update({"wall_time_s": round(time.perf_counter() - t0, 3), "peak_memory": peak_memory(),
                    "config": config_to_dict(cfg), **extra})
    rd.write_summary(summary)
    return summary


def export(run_dir: str | Path) -> Path:
    """Write (or refresh) ``<run_dir>/model.safetensors`` from the run's last checkpoint.

    Example:
        >>> export("runs/qt_image__mnist5k_demo__s0__20250101-000000")  # doctest: +SKIP
    """
    rd, recipe, cfg = _reopen(run_dir, None)
    _check_checkpoints(rd)
    return get_recipe(recipe).export(cfg, rd)


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


def report_hook(recipe: str) -> Any:
    """The report hook of a registered recipe (``None``: no hook, or a recipe not registered here)."""
    return get_recipe(recipe).report if recipe in RECIPE_MODULES else None


def report(path: str | Path, out: str | Path | None = None) -> Path:
    """Write ``report.html``, ``report.md`` and the PNGs for the runs at ``path`` (``qtrain report PATH``).

    Each recipe's runs form one section made by its report hook (the generic section for a recipe
    without one).

    Args:
        path: a run folder, a sweep folder, or a folder of those.
        out: output folder (default ``path/report``).

    Returns:
        The path of ``report.html``.

    Example:
        >>> page = report("runs/qet_amc__smoke__s0__20250101-000000")  # doctest: +SKIP
    """
    from qtrain.report.build import build_report  # matplotlib and the recipes' figures load only here

    return build_report(path, out, hooks=report_hook)
