"""Recipes: one file per paper task (config dataclass, builders, setup -> train -> evaluate -> save).

Names are imported lazily so that ``import qtrain.recipes`` stays cheap (no torch).

Example:
    >>> from qtrain import recipes
    >>> "qt_image" in recipes.recipe_names()
    True
    >>> res = recipes.run("qt_image", preset="mnist5k_demo", quiet=True)  # doctest: +SKIP
"""
from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "RECIPE_MODULES", "Recipe", "RecipeOutput", "get_recipe", "list_presets", "load_config", "preset_dir",
    "preset_header", "preset_path", "recipe_names", "register", "RunResult", "export", "run", "validate", "report",
    "ls",
]

_WHERE = {name: "qtrain.recipes.registry" for name in __all__}
_WHERE.update({"RunResult": "qtrain.recipes.runner", "export": "qtrain.recipes.runner",
               "run": "qtrain.recipes.runner", "validate": "qtrain.recipes.runner", "report": "qtrain.recipes.runner"})


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'qtrain.recipes' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
