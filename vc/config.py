"""Typed configs: YAML mappings parsed into dataclasses with messages that name the bad key."""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping, TypeVar, Union

import yaml

from vc.errors import ConfigError

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Range:
    """Bounds of a number, declared where it is typed: ``Annotated[int, Range(ge=1)]``.

    Config fields and network constructor parameters carry it alike, and :func:`coerce`
    checks it, so a bound is written once, next to the value it constrains.
    """

    ge: float | None = None
    lt: float | None = None

    def check(self, value: float, key: str) -> None:
        if self.ge is not None and self.lt is not None:
            bound = f"in [{self.ge}, {self.lt})"
        else:
            bound = f">= {self.ge}" if self.ge is not None else f"< {self.lt}"
        if (self.ge is not None and value < self.ge) or (self.lt is not None and value >= self.lt):
            raise ConfigError(f"{key}: must be {bound}, got {value}")


PositiveInt = Annotated[int, Range(ge=1)]  # widths, counts of layers and blocks, kernel sizes
NonNegativeInt = Annotated[int, Range(ge=0)]
NonNegativeFloat = Annotated[float, Range(ge=0)]  # loss weights, noise
Fraction = Annotated[float, Range(ge=0, lt=1)]  # dropout


class _WrongType(ConfigError):
    """A value of the wrong kind; a Union then tries its next member."""

    def __init__(self, key: str, expected: str, got: str) -> None:
        super().__init__(f"{key}: expected {expected}, got {got}")
        self.expected = expected


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; a missing file, bad syntax or a non-mapping is a ConfigError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not a text file (byte {e.object[e.start]:#04x} at offset {e.start} is not "
                          "UTF-8)") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML: {str(e).splitlines()[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def from_dict(cls: type[T], data: Mapping[str, Any] | None, where: str = "") -> T:
    """Build dataclass ``cls`` from ``data``; unknown keys and wrong types name their key."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where or cls.__name__}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{_key(where, unknown[0])}: unknown key (expected one of: {', '.join(sorted(fields))})"
        )
    missing = [name for name, f in fields.items() if name not in data
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        keys = ", ".join(repr(m) for m in missing)
        given = "the required keys " + keys + " are" if len(missing) > 1 else "the required key " + keys + " is"
        raise ConfigError(f"{where or cls.__name__}: {'empty: ' if not data else ''}{given} not given")
    kwargs = {name: coerce(hints[name], value, _key(where, name)) for name, value in data.items()}
    return cls(**kwargs)


def to_dict(obj: Any) -> Any:
    """The inverse of from_dict: plain dicts/lists ready for YAML."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def save_yaml(obj: Any, path: str | Path) -> None:
    """Write a dataclass or mapping as YAML, atomically."""
    from vc.utils import atomic_write_text

    atomic_write_text(Path(path), yaml.safe_dump(to_dict(obj), sort_keys=False))


def _key(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def coerce(tp: Any, value: Any, key: str) -> Any:
    """``value`` checked against the type hint ``tp`` (lists become tuples where ``tp`` says
    tuple, ints become floats); a wrong type, an out-of-range number or an unknown key of a
    nested dataclass is a ConfigError naming ``key``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin is Annotated:
        value = coerce(args[0], value, key)
        for bound in (a for a in args[1:] if isinstance(a, Range)):
            bound.check(value, key)
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        # A value of the right kind but a bad value (out of range) is reported as such at once.
        expected = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return coerce(arg, value, key)
            except _WrongType as e:
                expected.append(e.expected)
        raise _WrongType(key, " or ".join(expected), repr(value))
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{key}: {value!r} is not one of {', '.join(map(repr, args))}")
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, key)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise _WrongType(key, "a list", type(value).__name__)
        item = args[0] if args else Any
        return origin(coerce(item, v, f"{key}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, Mapping):
            raise _WrongType(key, "a mapping", type(value).__name__)
        vt = args[1] if len(args) == 2 else Any
        return {k: coerce(vt, v, f"{key}.{k}") for k, v in value.items()}
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float, str, bool):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise _WrongType(key, tp.__name__, repr(value))
        return value
    return value
