import dataclasses
from typing import Literal

import pytest

from nmt.config.base import (
    NOT_A_KEY,
    ConfigError,
    check_fields,
    check_int,
    check_number,
    check_positive_int,
    check_rate,
    config_from_dict,
    config_to_dict,
)


@dataclasses.dataclass(frozen=True)
class Inner:
    kind: Literal["a", "b"] = "a"
    size: int = 3

    def __post_init__(self):
        check_fields(self)


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


def test_check_fields_checks_types_and_literals_on_construction():
    with pytest.raises(ConfigError, match=r"kind='c' is not one of 'a', 'b'"):
        Inner(kind="c")
    with pytest.raises(ConfigError, match=r"size='3' must be an integer"):
        Inner(size="3")


@pytest.mark.parametrize("check, value, message", [
    (lambda v: check_int("n", v), 1.5, "n=1.5 must be an integer"),
    (lambda v: check_int("n", v), True, "n=True must be an integer"),
    (lambda v: check_positive_int("n", v), 0, "n=0 must be a positive integer"),
    (lambda v: check_positive_int("n", v, optional=True), 0, r"n=0 must be a positive integer or null"),
    (lambda v: check_int("n", v, minimum=0), -1, "n=-1 must be a non-negative integer"),
    (lambda v: check_int("n", v, minimum=2, note="why"), 1, r"n=1 must be an integer >= 2 \(why\)"),
    (lambda v: check_number("x", v, above=0), 0, "x=0 must be a positive number"),
    (lambda v: check_number("x", v, above=0), float("nan"), "x=nan must be a positive number"),
    (lambda v: check_number("x", v, at_least=0), -0.5, "x=-0.5 must be a non-negative number"),
    (lambda v: check_number("x", v, above=0, below=1), 1, r"x=1 must be a number in \(0, 1\)"),
    (lambda v: check_number("x", v, above=0, at_most=1), 1.5, r"x=1.5 must be a number in \(0, 1\]"),
    (lambda v: check_number("x", v, at_least=1), 0.5, "x=0.5 must be a number >= 1"),
    (lambda v: check_rate("x", v), 1.0, r"x=1.0 must be a number in \[0, 1\)"),
    (lambda v: check_number("x", v), "a", "x='a' must be a number"),
])
def test_range_checks_name_the_value_and_the_range(check, value, message):
    with pytest.raises(ConfigError, match=message):
        check(value)


def test_range_checks_pass_good_values_and_optional_nulls():
    check_positive_int("n", 3)
    check_positive_int("n", None, optional=True)
    check_number("x", 0.5, above=0, below=1)
    check_number("x", 1, above=0, at_most=1)
    check_number("x", None, at_least=1, optional=True)


@dataclasses.dataclass(frozen=True)
class WithAttribute:
    size: int = 3
    derived: int = dataclasses.field(default=0, metadata=NOT_A_KEY)


def test_fields_that_are_not_keys_are_set_in_code_only():
    assert WithAttribute(derived=5).derived == 5
    assert config_to_dict(WithAttribute(4, 5)) == {"size": 4}
    with pytest.raises(ConfigError, match=r"unknown config key\(s\) derived; valid keys: size$"):
        config_from_dict(WithAttribute, {"derived": 5})
