"""The recipe registry: names -> modules (imported on demand) and their preset YAML files."""
from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from qtrain.config import apply_overrides, build_config, config_fields, read_yaml, yaml_header
from qtrain.train.context import RunContext
from qtrain.train.rundir import RunDir

if TYPE_CHECKING:
    from qtrain.report.section import ReportHook

__all__ = ["Recipe", "RecipeOutput", "RECIPE_MODULES", "RECIPES_ROOT", "register", "recipe_names", "get_recipe",
           "preset_dir", "list_presets", "preset_path", "preset_header", "load_config", "ls"]

RECIPES_ROOT = Path(__file__).parent
"""Each paper has one home under here: ``<paper>/<recipe>.py``, ``<paper>/presets/<recipe>/*.yaml``."""

RECIPE_MODULES: dict[str, str] = {
    "qt_image": "qtrain.recipes.quantum_train.qt_image",
    "qet_amc": "qtrain.recipes.qet.qet_amc",
    "pilot_assignment": "qtrain.recipes.hqcnn_pilot.pilot_assignment",
    "v2x_qcnn": "qtrain.recipes.v2x.v2x_qcnn",
    "v2x_semantic": "qtrain.recipes.v2x.v2x_semantic",
    "v2x_fusion": "qtrain.recipes.v2x.v2x_fusion",
    "v2x_transfer": "qtrain.recipes.v2x.v2x_transfer",
    "v2x_federated": "qtrain.recipes.v2x.v2x_federated",
    "diffqas_image": "qtrain.recipes.diffqas.diffqas_image",
    "diffqas_series": "qtrain.recipes.diffqas.diffqas_series",
    "diffqas_rl": "qtrain.recipes.diffqas.diffqas_rl",
}
"""Recipe name -> module defining ``RECIPE``; modules are imported only when the recipe is used."""


@dataclass
class RecipeOutput:
    """What a recipe's ``train`` returns: ``summary`` goes to ``summary.json``, ``table`` is printed."""

    summary: dict[str, Any]
    table: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Recipe:
    """A registered recipe.

    Attributes:
        name: the ``qtrain run <name>`` name.
        description: one line for ``qtrain ls``.
        config_cls: the recipe's config dataclass (fields made with :func:`qtrain.config.option`).
        train: ``train(cfg, ctx) -> RecipeOutput``: setup -> train -> evaluate -> save.
        export: ``export(cfg, run_dir) -> Path``: write ``model.safetensors`` from the last checkpoint.
        report: optional ``report(runs) -> ReportSection`` for ``qtrain report``: the recipe's tables
            (ours vs its paper's rows), the metrics to plot and its paper's figures. ``None``: the
            generic section (each run's table, every numeric metrics series).
        limits: run options the recipe cannot honour (``"device"``, ``"precision"``, ``"nproc"``), each
            with the reason; a non-default value of one is refused with that reason in one line.
    """

    name: str
    description: str
    config_cls: type
    train: Callable[[Any, RunContext], RecipeOutput]
    export: Callable[[Any, RunDir], Path]
    report: ReportHook | None = None
    limits: Mapping[str, str] = field(default_factory=dict)


def register(name: str, module: str) -> None:
    """Register a recipe module (which must define ``RECIPE``) under ``name``."""
    RECIPE_MODULES[name] = module


def recipe_names() -> list[str]:
    """Registered recipe names, sorted."""
    return sorted(RECIPE_MODULES)


def _check_name(name: str) -> None:
    if name not in RECIPE_MODULES:
        close = difflib.get_close_matches(name, recipe_names(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"recipe={name!r} is unknown{hint} Registered recipes: {recipe_names()} (see `qtrain ls`)")


def get_recipe(name: str) -> Recipe:
    """The :class:`Recipe` registered as ``name`` (imports its module)."""
    _check_name(name)
    recipe = importlib.import_module(RECIPE_MODULES[name]).RECIPE
    if not isinstance(recipe, Recipe):
        raise TypeError(f"module {RECIPE_MODULES[name]!r} must define RECIPE = Recipe(...), "
                        f"got {type(recipe).__name__}")
    return recipe


def preset_dir(name: str) -> Path:
    """``<paper>/presets/<name>/`` beside the recipe's module (found without importing it)."""
    _check_name(name)
    *package, _module = RECIPE_MODULES[name].split(".")
    return RECIPES_ROOT.joinpath(*package[2:], "presets", name)


def list_presets(name: str) -> dict[str, Path]:
    """Preset name -> YAML path for a recipe (sorted by name)."""
    folder = preset_dir(name)
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}


def preset_path(name: str, preset: str) -> Path:
    """The YAML file of ``preset``: a registered preset name, or a path to a ``.yaml`` file."""
    presets = list_presets(name)
    if preset in presets:
        return presets[preset]
    if preset.endswith((".yaml", ".yml")) and Path(preset).is_file():
        return Path(preset)
    close = difflib.get_close_matches(preset, list(presets), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"preset={preset!r} is not a preset of recipe {name!r}{hint} Presets: {sorted(presets)} "
                     "(or pass a path to a .yaml file)")


def preset_header(path: Path) -> str:
    """The first header comment line of a preset (what ``qtrain ls`` shows)."""
    lines = yaml_header(path)
    return lines[0] if lines else ""


def load_config(name: str, preset: str | None = None, overrides: Iterable[str] = (), seed: int | None = None) -> Any:
    """Validated config of recipe ``name``: defaults <- preset YAML <- ``key=value`` overrides <- ``seed``.

    Example:
        >>> cfg = load_config("qt_image", "mnist_qt16", ["epochs=2"])
        >>> cfg.blocks, cfg.epochs
        (16, 2)
    """
    recipe = get_recipe(name)
    values: dict[str, Any] = {}
    source = "defaults"
    if preset is not None:
        path = preset_path(name, preset)
        values, source = read_yaml(path), str(path)
    values = apply_overrides(values, overrides)
    if seed is not None:
        values["seed"] = seed
    return build_config(recipe.config_cls, values, source=source)


def ls(recipe: str | None = None) -> list[dict[str, Any]]:
    """Recipes with their presets (name -> header line) and, for one recipe, its config fields (``qtrain ls``).

    Example:
        >>> [e["recipe"] for e in ls()][:1]
        ['diffqas_image']
        >>> {f.name: f.default for f in ls("qt_image")[0]["fields"]}["blocks"]
        16
    """
    out = []
    for name in [recipe] if recipe else recipe_names():
        rec = get_recipe(name)
        entry: dict[str, Any] = {"recipe": name, "description": rec.description,
                                 "presets": {p: preset_header(path) for p, path in list_presets(name).items()}}
        if recipe:
            entry["fields"] = config_fields(rec.config_cls)
        out.append(entry)
    return out
