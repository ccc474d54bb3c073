"""Typed recipe configs: dataclass fields with help text, whole-config validation, YAML, overrides.

Every recipe declares one dataclass whose fields are made with :func:`option` (a default, a
one-line help and optional bounds); ``Literal`` annotations list the allowed values. Presets are
small YAML files of differences from the defaults. Loading validates the *whole* mapping and
raises one :class:`ConfigError` listing every problem (unknown keys with close-match
suggestions, ill-typed and out-of-range values, and the cross-field checks of the dataclass's
``problems()`` method).

Hostile input is refused with one clear error: float options refuse NaN and infinities (unless a
field is declared with ``finite=False``), integers must fit in 64 bits, and YAML documents are
read with :class:`BoundedLoader` (no aliases, so no "billion laughs"; at most
:data:`MAX_YAML_DEPTH` levels of nesting; at most :data:`MAX_YAML_BYTES` bytes; string keys only).
Values quoted in errors are cut to a readable length.

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
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping

import yaml

from qtrain._fileio import atomic_write_text, clip, short

__all__ = ["option", "FieldInfo", "config_fields", "absent_values", "ConfigError", "build_config", "parse_override",
           "apply_overrides", "read_yaml", "load_config_file", "config_to_dict", "dump_config", "yaml_header",
           "BoundedLoader", "load_yaml_text", "MAX_YAML_BYTES", "MAX_YAML_DEPTH", "INT_LIMIT"]

_MISSING = dataclasses.MISSING
MAX_YAML_BYTES = 1 << 20
"""Largest config/preset file read (1 MiB; shipped presets are under 2 KiB)."""
MAX_YAML_DEPTH = 16
"""Deepest nesting of YAML collections accepted (a config is a flat mapping of scalars and lists)."""
INT_LIMIT = 2**63
"""Integer options must satisfy ``-INT_LIMIT < v < INT_LIMIT`` (torch and numpy take int64)."""


def option(default: Any, help: str, *, min: float | None = None, max: float | None = None,
           gt: float | None = None, aliases: tuple[str, ...] = (), finite: bool = True, absent: Any = _MISSING) -> Any:
    """A config field: ``default``, a one-line ``help``, optional bounds (``min``/``max`` inclusive,
    ``gt`` exclusive), ``aliases`` (other names users type, suggested when they do), ``finite``
    (``False`` lets a float option take ``inf``/``nan``) and ``absent``: for a field added after runs
    were made, the value those runs had, read when a saved ``config.yaml`` lacks the field (so they
    resume as they ran); without it a missing field means a damaged file."""
    meta = {"help": help, "min": min, "max": max, "gt": gt, "aliases": tuple(aliases), "finite": finite}
    if absent is not _MISSING:
        meta["absent"] = absent
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
    finite: bool = True

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


def absent_values(cls: type) -> dict[str, Any]:
    """``{field: value}`` of the fields declared with ``option(..., absent=...)`` (added after runs were made)."""
    return {f.name: f.metadata["absent"] for f in dataclasses.fields(cls) if "absent" in f.metadata}


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
                             tuple(m.get("aliases", ())), bool(m.get("finite", True))))
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
        try:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
            if isinstance(value, str):
                return float(value)  # YAML 1.1 reads "1e-3" as a string
        except OverflowError:
            raise _Bad("the number is too large for a float") from None
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
            try:
                value = [load_yaml_text(v) for v in value]
            except ValueError:
                raise _Bad(f"expected a list ({_type_name(tp)})") from None
        if not isinstance(value, (list, tuple)):
            raise _Bad(f"expected a list ({_type_name(tp)})")
        try:
            return tuple(_coerce(v, args[0]) for v in value)
        except _Bad as exc:
            raise _Bad(f"expected a list of {_type_name(args[0])} ({exc})") from None
    if value is None:
        raise _Bad(f"expected {_type_name(tp)}, not null")
    return _coerce_scalar(value, tp)


def _allowed(info: FieldInfo) -> str:
    """The allowed range of a numeric field in words: ``a finite number >= 0 and <= 1``."""
    parts = [f"{op} {b}" for op, b in ((">=", info.min), ("<=", info.max), (">", info.gt)) if b is not None]
    return ("a finite number" if info.finite else "a number") + (" " + " and ".join(parts) if parts else "")


def _range_problem(info: FieldInfo, value: Any) -> str | None:
    items = value if isinstance(value, tuple) else (value,)
    for v in items:
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        if isinstance(v, int) and not -INT_LIMIT < v < INT_LIMIT:
            return f"{info.name}={short(value)} is out of range; integers must lie strictly within +-2**63"
        if isinstance(v, float) and info.finite and not math.isfinite(v):
            return f"{info.name}={short(value)} is not finite; allowed: {_allowed(info)}"
        if info.min is not None and v < info.min:
            return f"{info.name}={short(value)} is out of range; must be >= {info.min}"
        if info.max is not None and v > info.max:
            return f"{info.name}={short(value)} is out of range; must be <= {info.max}"
        if info.gt is not None and v <= info.gt:
            return f"{info.name}={short(value)} is out of range; must be > {info.gt}"
    return None


def _unknown_key(key: str, infos: dict[str, FieldInfo]) -> str:
    known = list(infos)
    close = [name for name, info in infos.items() if key in info.aliases]
    close += [c for c in difflib.get_close_matches(key, known, n=3, cutoff=0.6) if c not in close]
    if close:
        return f"unknown key {short(key)}; did you mean {' or '.join(repr(c) for c in close)}?"
    return f"unknown key {short(key)}; valid keys: {', '.join(known)}"


def build_config(cls: type, values: Mapping[str, Any] | None = None, *, source: str | None = None) -> Any:
    """Validate ``values`` (differences from the defaults) and build the config dataclass.

    Raises:
        ConfigError: with every problem found (unknown keys, types, ranges, cross-field checks).
    """
    values = dict(values or {})
    infos = {i.name: i for i in config_fields(cls)}
    problems = [f"key {short(k)} is not a field name (keys are strings; a bare `~:` is the null key)"
                for k in values if not isinstance(k, str)]
    values = {k: v for k, v in values.items() if isinstance(k, str)}
    problems += [_unknown_key(k, infos) for k in values if k not in infos]
    kwargs: dict[str, Any] = {}
    for key, raw in values.items():
        if key not in infos:
            continue
        try:
            kwargs[key] = _coerce(raw, infos[key].type)
        except _Bad as exc:
            problems.append(f"{key}={short(raw)}: {exc} (type {infos[key].type_name}); help: {infos[key].help}")
            continue
        bad = _range_problem(infos[key], kwargs[key])
        if bad:
            problems.append(bad)
            del kwargs[key]
    cfg = cls(**kwargs)
    if hasattr(cfg, "problems"):  # ill-typed fields kept their defaults above, so these checks are safe
        problems.extend(clip(p, 400) for p in cfg.problems())
    if problems:
        raise ConfigError(cls.__name__, problems, source)
    return cfg


def parse_override(text: str) -> tuple[str, str]:
    """``"key=value"`` -> ``(key, value)``; the value is typed later by :func:`apply_overrides`."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--set {text!r} is not of the form key=value (e.g. --set lr=1e-3)")
    return key.strip(), value.strip()


class BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses aliases (``*name``) and nesting deeper than :data:`MAX_YAML_DEPTH`.

    Aliases are what a "billion laughs" document multiplies; qtrain configs never need them.
    """

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # noqa: D102 - see the class docstring
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in qtrain configs; "
                                              "write the value out", self.peek_event().start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"collections are nested more than {MAX_YAML_DEPTH} "
                                                  "levels deep", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc)
    return clip(f"{problem}{where}", 200)


def load_yaml_text(text: str, source: str = "YAML text") -> Any:
    """Parse one YAML document with :class:`BoundedLoader`.

    Raises:
        ValueError: not valid YAML, an alias, or too deep; one line naming ``source`` and the place.

    Example:
        >>> load_yaml_text("epochs: 3")
        {'epochs': 3}
    """
    try:
        return yaml.load(text, Loader=BoundedLoader)  # noqa: S506 - BoundedLoader is a SafeLoader
    except yaml.YAMLError as exc:
        raise ValueError(f"{source} is not a valid qtrain YAML document: {_yaml_problem(exc)}") from None
    except RecursionError:
        raise ValueError(f"{source} is nested too deeply to read; a config is a flat key: value mapping") from None


def apply_overrides(values: Mapping[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Merge ``key=value`` strings into ``values``; each value is parsed as YAML (typed on build).

    A value that is not valid YAML stays a string (and is typed, or refused, on build).
    """
    merged = dict(values)
    for text in overrides:
        key, raw = parse_override(text)
        try:
            merged[key] = load_yaml_text(raw) if raw else ""
        except ValueError:
            merged[key] = raw
    return merged


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML file that must hold a mapping with string keys (empty file -> ``{}``).

    Raises:
        FileNotFoundError: no such file.
        ValueError: too large, not UTF-8, not valid YAML (aliases and deep nesting refused), not
            a mapping, or a non-string key; one line naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {str(path)!r} does not exist")
    with path.open("rb") as fh:
        raw = fh.read(MAX_YAML_BYTES + 1)
    if len(raw) > MAX_YAML_BYTES:
        raise ValueError(f"config file {str(path)!r} is larger than {MAX_YAML_BYTES:,} bytes; a config is a short "
                         "key: value file, check that you passed the right file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"config file {str(path)!r} is not UTF-8 text (byte {exc.start}); pass a YAML file") from None
    data = load_yaml_text(text, f"config file {str(path)!r}")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"config file {str(path)!r} holds a {type(data).__name__}; expected a mapping of key: value")
    bad = [short(k, 40) for k in data if not isinstance(k, str)]
    if bad:
        raise ValueError(f"config file {str(path)!r} has non-string keys {', '.join(bad[:5])} (a bare `~:` is the "
                         "null key); keys must be config field names")
    return data


def load_config_file(cls: type, path: str | Path, overrides: Iterable[str] = ()) -> Any:
    """Read a YAML file of differences, apply ``--set`` overrides, validate, build."""
    return build_config(cls, apply_overrides(read_yaml(path), overrides), source=str(path))


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Plain ``dict`` of a config (tuples become lists) for YAML/JSON."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cfg).items()}


class _NoAliasDumper(yaml.SafeDumper):
    """Writes repeated values out in full: the configs it writes must load with :class:`BoundedLoader`."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_config(cfg: Any, path: str | Path, header: str = "") -> str:
    """Write the full config as YAML with an optional comment ``header`` (one or more lines), atomically.

    Returns:
        The text written (callers record its checksum).
    """
    text = "".join(f"# {line}\n" for line in header.splitlines() if header)
    text += yaml.dump(config_to_dict(cfg), Dumper=_NoAliasDumper, sort_keys=False, default_flow_style=None)
    atomic_write_text(path, text)
    return text


def yaml_header(path: str | Path) -> list[str]:
    """The leading ``#`` comment lines of a YAML file, without the ``#``."""
    lines = []
    with Path(path).open("rb") as fh:
        text = fh.read(MAX_YAML_BYTES).decode("utf-8", errors="replace")
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return lines
