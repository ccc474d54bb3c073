"""Typed recipe configs: dataclass fields with help text, whole-config validation, YAML, overrides.

Every recipe declares one dataclass whose fields are made with :func:`option` (a default, a
one-line help and optional bounds); ``Literal`` annotations list the allowed values. Presets are
small YAML files of differences from the defaults. Loading validates the *whole* mapping and
raises one :class:`ConfigError` listing every problem (unknown keys with close-match
suggestions, ill-typed and out-of-range values, and the cross-field checks of the dataclass's
``problems()`` method).

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Cfg:
    ...     lr: float = option(1e-3, "Adam learning rate", gt=0)
    ...     epochs: int = option(10, "training epochs", min=1)
    >>> build_config(Cfg, {"lr": "3e-3"}).lr
    0.003
    >>> build_config(Cfg, {"epoch": 3})
    Traceback (most recent call last):
    ...
    qtrain.config.ConfigError: invalid Cfg config, 1 problem:
      - unknown key 'epoch'; did you mean 'epochs'?
"""
from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping

import yaml

__all__ = ["option", "FieldInfo", "config_fields", "ConfigError", "build_config", "parse_override",
           "apply_overrides", "read_yaml", "load_config_file", "config_to_dict", "dump_config", "yaml_header"]

_MISSING = dataclasses.MISSING


def option(default: Any, help: str, *, min: float | None = None, max: float | None = None,
           gt: float | None = None, aliases: tuple[str, ...] = ()) -> Any:
    """A config field: ``default``, a one-line ``help``, optional bounds (``min``/``max`` inclusive,
    ``gt`` exclusive) and ``aliases`` (other names users type, suggested when they do)."""
    meta = {"help": help, "min": min, "max": max, "gt": gt, "aliases": tuple(aliases)}
    if isinstance(default, (list, dict, set)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class FieldInfo:
    """One config field as seen by validation, ``qtrain ls`` and the docs."""

    name: str
    type: Any
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    gt: float | None = None
    aliases: tuple[str, ...] = ()

    @property
    def type_name(self) -> str:
        """A short readable name of the field's type (``int``, ``'a' | 'b'``, ``tuple[int, ...]``)."""
        return _type_name(self.type)


class ConfigError(ValueError):
    """A config has problems; ``problems`` lists each one, the message lists them all."""

    def __init__(self, name: str, problems: list[str], source: str | None = None) -> None:
        self.problems = list(problems)
        where = f" (from {source})" if source else ""
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        super().__init__(f"invalid {name} config{where}, {count}:\n" + "\n".join(f"  - {p}" for p in problems))


def config_fields(cls: type) -> list[FieldInfo]:
    """The fields of a config dataclass with resolved types, defaults and help texts."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"cls={cls!r} is not a dataclass; recipe configs are @dataclass classes")
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not _MISSING else (
            f.default_factory() if f.default_factory is not _MISSING else _MISSING)
        m = f.metadata
        out.append(FieldInfo(f.name, hints[f.name], default, m.get("help", ""), m.get("min"), m.get("max"), m.get("gt"),
                             tuple(m.get("aliases", ()))))
    return out


def _type_name(tp: Any) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join("None" if a is type(None) else _type_name(a) for a in args)
    if origin is tuple:
        return f"tuple[{_type_name(args[0])}, ...]" if len(args) == 2 and args[1] is Ellipsis else str(tp)
    return getattr(tp, "__name__", str(tp))


class _Bad(Exception):
    """Internal: a value does not fit a type (message says what was expected)."""


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _coerce_scalar(value: Any, tp: Any) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        raise _Bad("expected true or false")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _Bad("expected an integer")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)  # YAML 1.1 reads "1e-3" as a string
            except ValueError:
                pass
        raise _Bad("expected a number")
    if tp is str:
        if isinstance(value, str):
            return value
        raise _Bad("expected a string")
    raise TypeError(f"config field type {tp!r} is not supported; use bool, int, float, str, Literal, tuple or X | None")


def _coerce(value: Any, tp: Any) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in args:
                return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, arg)
            except _Bad as exc:
                errors.append(str(exc))
        raise _Bad(" or ".join(errors) + (" or null" if type(None) in args else ""))
    if origin is Literal:
        if value in args and type(value) in {type(a) for a in args}:
            return value
        raise _Bad(f"allowed values are {list(args)}")
    if origin is tuple:
        if isinstance(value, str):
            value = [v for v in value.strip("()[] ").split(",") if v.strip()]
            value = [yaml.safe_load(v) for v in value]
        if not isinstance(value, (list, tuple)):
            raise _Bad(f"expected a list ({_type_name(tp)})")
        try:
            return tuple(_coerce(v, args[0]) for v in value)
        except _Bad as exc:
            raise _Bad(f"expected a list of {_type_name(args[0])} ({exc})") from None
    if value is None:
        raise _Bad(f"expected {_type_name(tp)}, not null")
    return _coerce_scalar(value, tp)


def _range_problem(info: FieldInfo, value: Any) -> str | None:
    items = value if isinstance(value, tuple) else (value,)
    for v in items:
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        if info.min is not None and v < info.min:
            return f"{info.name}={value!r} is out of range; must be >= {info.min}"
        if info.max is not None and v > info.max:
            return f"{info.name}={value!r} is out of range; must be <= {info.max}"
        if info.gt is not None and v <= info.gt:
            return f"{info.name}={value!r} is out of range; must be > {info.gt}"
    return None


def _unknown_key(key: str, infos: dict[str, FieldInfo]) -> str:
    known = list(infos)
    close = [name for name, info in infos.items() if key in info.aliases]
    close += [c for c in difflib.get_close_matches(key, known, n=3, cutoff=0.6) if c not in close]
    if close:
        return f"unknown key {key!r}; did you mean {' or '.join(repr(c) for c in close)}?"
    return f"unknown key {key!r}; valid keys: {', '.join(known)}"


def build_config(cls: type, values: Mapping[str, Any] | None = None, *, source: str | None = None) -> Any:
    """Validate ``values`` (differences from the defaults) and build the config dataclass.

    Raises:
        ConfigError: with every problem found (unknown keys, types, ranges, cross-field checks).
    """
    values = dict(values or {})
    infos = {i.name: i for i in config_fields(cls)}
    problems = [_unknown_key(k, infos) for k in values if k not in infos]
    kwargs: dict[str, Any] = {}
    for key, raw in values.items():
        if key not in infos:
            continue
        try:
            kwargs[key] = _coerce(raw, infos[key].type)
        except _Bad as exc:
            problems.append(f"{key}={raw!r}: {exc} (type {infos[key].type_name}); help: {infos[key].help}")
            continue
        bad = _range_problem(infos[key], kwargs[key])
        if bad:
            problems.append(bad)
            del kwargs[key]
    cfg = cls(**kwargs)
    if hasattr(cfg, "problems"):
        problems.extend(cfg.problems())
    if problems:
        raise ConfigError(cls.__name__, problems, source)
    return cfg


def parse_override(text: str) -> tuple[str, str]:
    """``"key=value"`` -> ``(key, value)``; the value is typed later by :func:`apply_overrides`."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--set {text!r} is not of the form key=value (e.g. --set lr=1e-3)")
    return key.strip(), value.strip()


def apply_overrides(values: Mapping[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Merge ``key=value`` strings into ``values``; each value is parsed as YAML (typed on build)."""
    merged = dict(values)
    for text in overrides:
        key, raw = parse_override(text)
        try:
            merged[key] = yaml.safe_load(raw) if raw else ""
        except yaml.YAMLError:
            merged[key] = raw
    return merged


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML file that must hold a mapping (empty file -> ``{}``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"config file {str(path)!r} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"config file {str(path)!r} holds a {type(data).__name__}; expected a mapping of key: value")
    return data


def load_config_file(cls: type, path: str | Path, overrides: Iterable[str] = ()) -> Any:
    """Read a YAML file of differences, apply ``--set`` overrides, validate, build."""
    return build_config(cls, apply_overrides(read_yaml(path), overrides), source=str(path))


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Plain ``dict`` of a config (tuples become lists) for YAML/JSON."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cfg).items()}


def dump_config(cfg: Any, path: str | Path, header: str = "") -> None:
    """Write the full config as YAML with an optional comment ``header`` (one or more lines)."""
    text = "".join(f"# {line}\n" for line in header.splitlines() if header)
    text += yaml.safe_dump(config_to_dict(cfg), sort_keys=False, default_flow_style=None)
    Path(path).write_text(text)


def yaml_header(path: str | Path) -> list[str]:
    """The leading ``#`` comment lines of a YAML file, without the ``#``."""
    lines = []
    for line in Path(path).read_text().splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return lines
