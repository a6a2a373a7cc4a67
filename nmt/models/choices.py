"""The one way :mod:`nmt.models` checks a name from the model config: against its ``Literal``.

:mod:`nmt.config.model` types every name a model option can take as a ``Literal``
(``CellName``, ``AttentionName``, ``EmbeddingInit``, and the ``bridge`` and
``bidirectional_merge`` fields of ``ModelConfig``). The name lists and the
name -> implementation tables of :mod:`nmt.models` are derived from those ``Literal`` types:

- :func:`field_names` lists the names a ``ModelConfig`` field allows;
- :func:`table` checks, at import, that a name -> implementation table covers exactly
  the names of a ``Literal`` (a name added on one side only fails at once) and orders
  it like the ``Literal``;
- :func:`resolve` turns a name into its implementation, or raises
  :class:`~nmt.config.base.ConfigError` listing the choices.

Each table lives next to what it resolves to: ``CELL_LAYERS`` in :mod:`~nmt.models.cells`,
``ATTENTION_CLASSES`` in :mod:`~nmt.models.attention`, the embedding initializations in
:mod:`~nmt.models.embedding`; ``BRIDGES`` (:mod:`~nmt.models.bridge`) and
:data:`MERGE_MODES` are checked with :func:`~nmt.config.base.check_choice`.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from nmt.config.base import check_choice, literal_choices
from nmt.config.model import ModelConfig

T = TypeVar("T")


def field_names(field: str) -> tuple[str, ...]:
    """The names the ``Literal``-typed ``ModelConfig`` field ``field`` allows, in declaration order."""
    return literal_choices(ModelConfig, field)


def table(literal: Any, implementations: Mapping[str, T]) -> dict[str, T]:
    """``implementations`` ordered like ``literal``'s names; raises unless it covers exactly those names."""
    names = typing.get_args(literal)
    if sorted(implementations) != sorted(names):
        raise TypeError(f"implementations for {sorted(implementations)} do not match the config's names {names}")
    return {name: implementations[name] for name in names}


def resolve(what: str, name: str, choices: Mapping[str, T]) -> T:
    """``choices[name]``; a :class:`~nmt.config.base.ConfigError` naming ``what`` and the choices otherwise."""
    check_choice(what, name, choices)
    return choices[name]


#: How a bidirectional encoder merges its two directions (outputs, and ``bridge="last"`` states).
MERGE_MODES: tuple[str, ...] = field_names("bidirectional_merge")
