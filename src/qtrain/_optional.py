"""Lazy imports of optional dependencies with an error that names the extra to install."""
from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]


def require(module: str, extra: str, purpose: str = "") -> ModuleType:
    """Import ``module`` or raise an ``ImportError`` naming the qtrain extra that provides it.

    Example:
        >>> np = require("numpy", "core")
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        why = f" for {purpose}" if purpose else ""
        raise ImportError(
            f"{module!r} is needed{why} but is not installed; "
            f'install it with: pip install "qtrain[{extra}]"'
        ) from exc
