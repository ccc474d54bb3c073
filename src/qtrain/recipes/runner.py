"""Running, resuming, exporting, validating, reporting recipes: the functions behind ``qtrain run|export|...``."""
from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from qtrain._version import __version__
from qtrain.config import build_config, config_to_dict, dump_config, load_config_file, read_yaml
from qtrain.recipes.registry import RECIPE_MODULES, RECIPES_ROOT, get_recipe, load_config, recipe_names
from qtrain.train.context import RunContext, StepHook
from qtrain.train.plots import plot_curves
from qtrain.train.rundir import RunDir, peak_memory
from qtrain.train.seed import preserved_torch_settings, seed_everything

__all__ = ["RunResult", "run", "export", "validate", "report", "report_hook"]


@dataclass
class RunResult:
    """The outcome of :func:`run`: the run folder, ``summary.json``'s content and the results table."""

    run_dir: Path
    summary: dict[str, Any]
    table: list[dict[str, Any]] = field(default_factory=list)


def _command_line(recipe: str, preset: str | None, overrides: list[str], seed: int) -> str:
    parts = ["qtrain run", recipe] + ([f"--preset {preset}"] if preset else []) + [f"--seed {seed}"]
    return " ".join(parts + [f"--set {o}" for o in overrides])


def _start(recipe: str, preset: str | None, overrides: list[str], seed: int | None, out: str | Path) -> tuple[RunDir, Any]:
    cfg = load_config(recipe, preset, overrides, seed)
    preset_name = Path(preset).stem if preset else "default"
    rd = RunDir.create(out, recipe, preset_name, cfg.seed)
    rd.write_info({"recipe": recipe, "preset": preset_name, "seed": cfg.seed, "overrides": overrides,
                   "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "qtrain_version": __version__})
    dump_config(cfg, rd.config_path, header=f"full config of this run; reproduce with:\n"
                                           f"{_command_line(recipe, preset, overrides, cfg.seed)}")
    return rd, cfg


def _reopen(resume: str | Path, recipe: str | None) -> tuple[RunDir, str, Any]:
    rd = RunDir.open(resume)
    info = rd.read_info()
    if recipe is not None and recipe != info["recipe"]:
        raise ValueError(f"recipe={recipe!r} but run folder {str(resume)!r} was made by recipe {info['recipe']!r}; "
                         f"run `qtrain run {info['recipe']} --resume {resume}`")
    cfg = build_config(get_recipe(info["recipe"]).config_cls, read_yaml(rd.config_path), source=str(rd.config_path))
    return rd, info["recipe"], cfg


def _check_plot_backend(cfg: Any) -> None:
    if getattr(cfg, "plots", False) and importlib.util.find_spec("matplotlib") is None:
        raise ImportError('plots=true needs matplotlib: pip install "qtrain[plot]", or run with --set plots=false')


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
    if resume is not None:
        if overrides or preset is not None or seed is not None:
            raise ValueError("--resume continues a run with the config in its config.yaml; drop --preset/--set/--seed")
        rd, recipe, cfg = _reopen(resume, recipe)
    else:
        if recipe is None:
            raise ValueError(f"recipe=None; name one of {recipe_names()} (or pass resume=<run dir>)")
        rd, cfg = _start(recipe, preset, overrides, seed, out)
    _check_plot_backend(cfg)
    t0 = time.perf_counter()
    with preserved_torch_settings():
        seed_everything(cfg.seed)
        output = get_recipe(recipe).train(cfg, RunContext(rd, resume=resume is not None, quiet=quiet, on_step=on_step))
    summary = _finish(rd, recipe, cfg, output.summary, resumed=resume is not None, t0=t0)
    return RunResult(rd.path, summary, output.table)


def _finish(rd: RunDir, recipe: str, cfg: Any, extra: dict[str, Any], resumed: bool, t0: float) -> dict[str, Any]:
    """Plots, then ``summary.json``: run identity, wall time, peak memory, config and the recipe's summary."""
    summary = {"recipe": recipe, "preset": rd.read_info()["preset"], "seed": cfg.seed, "run_dir": str(rd.path),
               "qtrain_version": __version__, "resumed": resumed}
    if getattr(cfg, "plots", False):
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
