"""Typed, frozen configuration helpers shared by every config dataclass.

Every config in ``nmt`` is a ``@dataclasses.dataclass(frozen=True)`` whose
``__post_init__`` validates its fields one way: :func:`check_fields` checks every
field against its annotation (types, ``Literal`` choices), then the ``check_*``
helpers check ranges, each error one line ``name=value must be ...``. This module
also turns plain mappings (from YAML files, ``--set`` overrides or ``get_config()``)
into those dataclasses and back, rejecting unknown keys with the list of valid ones.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

C = TypeVar("C")


class ConfigError(ValueError):
    """A configuration value or key is invalid; the message names it."""


#: ``dataclasses.field(metadata=NOT_A_KEY)`` marks a field that is set in code (or derived
#: from another field) but is not a key of config mappings: :func:`config_from_dict` rejects
#: it as unknown and leaves it out of the valid keys; :func:`config_to_dict` leaves it out.
NOT_A_KEY = types.MappingProxyType({"config_key": False})


def _is_key(field: dataclasses.Field) -> bool:
    return field.init and field.metadata.get("config_key", True)


def config_from_dict(cls: type[C], values: Mapping[str, Any], *, where: str = "") -> C:
    """Builds the frozen dataclass ``cls`` from ``values``.

    Args:
        cls: a dataclass type.
        values: field name -> value. Nested dataclass fields accept mappings.
        where: prefix used in error messages (for example ``"model"``).

    Raises:
        ConfigError: on an unknown key (the message lists the valid keys) or a
            value the dataclass rejects.
    """
    if not isinstance(values, Mapping):
        raise ConfigError(f"{where or cls.__name__}: expected a mapping, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls) if _is_key(f)}
    unknown = sorted((key for key in values if key not in fields), key=str)  # YAML keys may be numbers, null...
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(
            f"unknown config key(s) {', '.join(prefix + str(k) for k in unknown)}; "
            f"valid keys: {', '.join(prefix + k for k in sorted(fields))}"
        )
    hints = _type_hints(cls)
    kwargs = {}
    for name, value in values.items():
        hint = hints.get(name)
        key = f"{where}.{name}" if where else name
        if dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
            value = config_from_dict(hint, value, where=key)
        else:
            value = check_type(key, value, hint)
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{where or cls.__name__}: {error}") from error


def check_type(name: str, value: Any, hint: Any) -> Any:
    """Checks ``value`` against a field annotation; returns it (lists as tuples, ints as floats).

    Understands ``bool``, ``int``, ``float``, ``str``, ``X | None``, ``Literal[...]``,
    ``tuple[X, ...]`` and dataclasses; other annotations are accepted as they are.

    Raises:
        ConfigError: naming the key, the value and the expected type.
    """
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is None or hint is Any:
        return value
    if origin is typing.Literal:
        check_choice(name, value, args)
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return check_type(name, value, option)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{name}={value!r} has the wrong type ({hint})")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{name}={value!r} must be a list")
        item = args[0] if args else Any
        return tuple(check_type(f"{name}[{i}]", v, item) for i, v in enumerate(value))
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name}={value!r} must be true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name}={value!r} must be an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name}={value!r} must be a number")
        try:
            return float(value)
        except OverflowError:  # an integer beyond the float range
            raise ConfigError(f"{name}={value!r} is too large for a number") from None
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{name}={value!r} must be a string")
        return value
    if dataclasses.is_dataclass(hint) and not isinstance(value, hint):
        raise ConfigError(f"{name} must be a mapping of {', '.join(f.name for f in dataclasses.fields(hint) if _is_key(f))}")
    return value


def config_to_dict(config: Any) -> dict[str, Any]:
    """Inverse of :func:`config_from_dict`: a JSON/YAML-ready dict (tuples become lists, no :data:`NOT_A_KEY` fields)."""

    def convert(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return {f.name: convert(getattr(value, f.name)) for f in dataclasses.fields(value) if _is_key(f)}
        if isinstance(value, (tuple, list)):
            return [convert(v) for v in value]
        return value

    return convert(config)


def check_choice(name: str, value: Any, choices: typing.Iterable[Any]) -> None:
    """Raises ConfigError unless ``value`` is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(map(repr, choices))}")


def literal_choices(cls: type, field: str) -> tuple[Any, ...]:
    """The allowed values of a ``Literal[...]`` annotated dataclass field."""
    return typing.get_args(_type_hints(cls)[field])


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def check_fields(config: Any) -> None:
    """Checks every field of a dataclass instance against its annotation (call first in ``__post_init__``).

    The one type check of every config: ``bool``, ``int``, ``float``, ``str``, ``X | None``,
    ``Literal[...]`` (the allowed names are the annotation's), tuples and nested
    dataclasses, as :func:`check_type` reads them; the message names the field.
    Ranges and relations between fields are the dataclass's own checks, written
    with the ``check_*`` helpers below.
    """
    hints = _type_hints(type(config))
    for f in dataclasses.fields(config):
        check_type(f.name, getattr(config, f.name), hints[f.name])


# ----------------------------------------------------------------------------- ranges
def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond the float range
        return False


def _fail(name: str, value: object, what: str, optional: bool, note: str) -> typing.NoReturn:
    raise ConfigError(f"{name}={value!r} must be {what}{' or null' if optional else ''}"
                      f"{f' ({note})' if note else ''}")


def check_int(name: str, value: object, *, minimum: int | None = None, optional: bool = False,
              note: str = "") -> None:
    """Raises ConfigError unless ``value`` is an integer (not a bool) ``>= minimum``.

    Args:
        optional: ``None`` is allowed too (the message then says "or null").
        note: a reason appended to the message in parentheses.
    """
    if optional and value is None:
        return
    if not _is_int(value) or (minimum is not None and value < minimum):
        what = {None: "an integer", 0: "a non-negative integer", 1: "a positive integer"}.get(
            minimum, f"an integer >= {minimum}")
        _fail(name, value, what, optional, note)


def check_positive_int(name: str, value: object, *, optional: bool = False, note: str = "") -> None:
    """An integer ``>= 1`` (see :func:`check_int`)."""
    check_int(name, value, minimum=1, optional=optional, note=note)


def check_non_negative_int(name: str, value: object, *, optional: bool = False, note: str = "") -> None:
    """An integer ``>= 0`` (see :func:`check_int`)."""
    check_int(name, value, minimum=0, optional=optional, note=note)


def check_number(name: str, value: object, *, above: float | None = None, at_least: float | None = None,
                 below: float | None = None, at_most: float | None = None, optional: bool = False,
                 note: str = "") -> None:
    """Raises ConfigError unless ``value`` is a finite number (an int or a float, not a bool) within the bounds.

    ``above``/``below`` are exclusive bounds, ``at_least``/``at_most`` inclusive ones;
    the message states the interval (``a number in (0, 1)``, ``a positive number``...).
    """
    if optional and value is None:
        return
    ok = _is_number(value) and not (
        (above is not None and value <= above) or (at_least is not None and value < at_least)
        or (below is not None and value >= below) or (at_most is not None and value > at_most))
    if ok:
        return
    low = ("(", above) if above is not None else ("[", at_least) if at_least is not None else None
    high = (")", below) if below is not None else ("]", at_most) if at_most is not None else None
    if low and high:
        what = f"a number in {low[0]}{low[1]:g}, {high[1]:g}{high[0]}"
    elif low:
        what = {("(", 0): "a positive number", ("[", 0): "a non-negative number"}.get(
            low, f"a number {'>' if low[0] == '(' else '>='} {low[1]:g}")
    elif high:
        what = f"a number {'<' if high[0] == ')' else '<='} {high[1]:g}"
    else:
        what = "a number"
    _fail(name, value, what, optional, note)


def check_positive_number(name: str, value: object, *, optional: bool = False) -> None:
    """A finite number ``> 0`` (see :func:`check_number`)."""
    check_number(name, value, above=0, optional=optional)


def check_non_negative_number(name: str, value: object, *, optional: bool = False) -> None:
    """A finite number ``>= 0`` (see :func:`check_number`)."""
    check_number(name, value, at_least=0, optional=optional)


def check_rate(name: str, value: object, *, upper: float = 1.0) -> None:
    """A number in ``[0, upper)``: a dropout or smoothing rate (see :func:`check_number`)."""
    check_number(name, value, at_least=0, below=upper)
