import dataclasses
from typing import Literal

import pytest

from nmt.config.base import ConfigError, config_from_dict, config_to_dict, validate_literals


@dataclasses.dataclass(frozen=True)
class Inner:
    kind: Literal["a", "b"] = "a"
    size: int = 3

    def __post_init__(self):
        validate_literals(self)


@dataclasses.dataclass(frozen=True)
class Outer:
    inner: Inner = Inner()
    names: tuple[str, ...] = ()


def test_round_trip_nested():
    config = Outer(Inner("b", 5), ("x", "y"))
    as_dict = config_to_dict(config)
    assert as_dict == {"inner": {"kind": "b", "size": 5}, "names": ["x", "y"]}
    assert config_from_dict(Outer, as_dict) == config


def test_unknown_key_lists_valid_keys():
    with pytest.raises(ConfigError, match=r"unknown config key\(s\) inner\.sise; valid keys: inner\.kind, inner\.size"):
        config_from_dict(Outer, {"inner": {"sise": 4}})


def test_literal_is_checked():
    with pytest.raises(ConfigError, match=r"inner\.kind='c' is not one of 'a', 'b'"):
        config_from_dict(Outer, {"inner": {"kind": "c"}})


@dataclasses.dataclass(frozen=True)
class Typed:
    count: int = 1
    rate: float = 0.5
    flag: bool = False
    limit: int | None = None
    label: str = "x"


@pytest.mark.parametrize("values,message", [
    ({"count": "3"}, "count='3' must be an integer"),
    ({"count": True}, "count=True must be an integer"),
    ({"rate": "high"}, "rate='high' must be a number"),
    ({"flag": "yes"}, "flag='yes' must be true or false"),
    ({"limit": 2.5}, "limit=2.5 must be an integer"),
    ({"label": 3}, "label=3 must be a string"),
])
def test_types_are_checked(values, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(Typed, values)


def test_ints_become_floats_and_none_is_allowed_where_annotated():
    config = config_from_dict(Typed, {"rate": 1, "limit": None})
    assert config.rate == 1.0 and isinstance(config.rate, float) and config.limit is None
