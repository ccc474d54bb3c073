"""Run options: what every run takes besides its recipe's own fields (``--set loggers=...``).

The runner splits these keys off the ``--set`` overrides before the recipe's config is built, so
they work for every recipe without a field in its dataclass, and keeps them in ``run.json`` (a
resumed run reuses them).

Example:
    >>> split_overrides("qt_image", ["epochs=2", "loggers=tensorboard"])
    (['epochs=2'], ['loggers=tensorboard'])
"""
from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from typing import Any, Iterable, Literal

from qtrain.config import ConfigError, apply_overrides, build_config, option, parse_override
from qtrain.recipes.registry import get_recipe, load_config
from qtrain.train.loggers import require_loggers

__all__ = ["LoggerChoice", "RunOptions", "split_overrides", "load_run_config"]

LoggerChoice = Literal["csv", "tensorboard", "mlflow", "wandb"]


@dataclass
class RunOptions:
    """Options of every run, whatever the recipe (``--set KEY=VALUE`` like the recipe's fields)."""

    loggers: tuple[LoggerChoice, ...] = option(
        (), "metric loggers besides metrics.csv (always written): tensorboard, mlflow, wandb; comma-separated",
        aliases=("logger", "log", "logging"))


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
