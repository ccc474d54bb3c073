"""String-valued option enums with one parse that names the argument, the value and the choices.

Example:
    >>> @argument("color")
    ... class Color(ChoiceEnum):
    ...     RED = "red"
    >>> Color.parse("red") is Color.RED
    True
    >>> Color.parse("blue")
    Traceback (most recent call last):
    ...
    ValueError: color='blue' is not supported; use one of ['red']
"""
from __future__ import annotations

import enum
from typing import Any, Callable, TypeVar

__all__ = ["ChoiceEnum", "argument"]

E = TypeVar("E", bound="ChoiceEnum")
_ARGS: dict[type, tuple[str, str]] = {}


def argument(name: str, verdict: str = "is not supported") -> Callable[[type[E]], type[E]]:
    """Class decorator: the argument name (and verdict) :meth:`ChoiceEnum.parse` puts in its error."""
    def deco(cls: type[E]) -> type[E]:
        _ARGS[cls] = (name, verdict)
        return cls
    return deco


class ChoiceEnum(str, enum.Enum):
    """A ``str`` enum whose :meth:`parse` raises ``ValueError("<arg>=<value> <verdict>; use one of [...]")``."""

    @classmethod
    def parse(cls: type[E], value: Any, arg: str | None = None) -> E:
        try:
            return cls(value)
        except ValueError:
            name, verdict = _ARGS.get(cls, ("value", "is not supported"))
            raise ValueError(f"{arg or name}={value!r} {verdict}; use one of {[m.value for m in cls]}") from None
