"""Typed, frozen configuration helpers shared by every config dataclass.

Every config in ``nmt`` is a ``@dataclasses.dataclass(frozen=True)`` whose
``__post_init__`` validates its fields. This module turns plain mappings (from
YAML files, ``--set`` overrides or ``get_config()``) into those dataclasses and
back, rejecting unknown keys with the list of valid ones.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

C = TypeVar("C")


class ConfigError(ValueError):
    """A configuration value or key is invalid; the message names it."""


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
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(
            f"unknown config key(s) {', '.join(prefix + k for k in unknown)}; "
            f"valid keys: {', '.join(prefix + k for k in sorted(fields))}"
        )
    hints = typing.get_type_hints(cls)
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
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{name}={value!r} must be a string")
        return value
    if dataclasses.is_dataclass(hint) and not isinstance(value, hint):
        raise ConfigError(f"{name} must be a mapping of {', '.join(f.name for f in dataclasses.fields(hint))}")
    return value


def config_to_dict(config: Any) -> dict[str, Any]:
    """Inverse of :func:`config_from_dict`: a JSON/YAML-ready dict (tuples become lists)."""

    def convert(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return {f.name: convert(getattr(value, f.name)) for f in dataclasses.fields(value)}
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
    return typing.get_args(typing.get_type_hints(cls)[field])


def validate_literals(config: Any) -> None:
    """Checks every ``Literal``-typed field of a dataclass instance (call in ``__post_init__``)."""
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        hint = hints[f.name]
        if typing.get_origin(hint) is typing.Literal:
            check_choice(f.name, getattr(config, f.name), typing.get_args(hint))


def check_positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name}={value!r} must be a positive integer")


def check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{name}={value!r} must be true or false")


def check_rate(name: str, value: object, *, upper: float = 1.0) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < upper:
        raise ConfigError(f"{name}={value!r} must be a number in [0, {upper})")
