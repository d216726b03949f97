"""From GraphQL types to Python values: one converter per remote field.

A remote field arrives as JSON; its converter, chosen from the field's SDL
type when the entity type is built (not per value), turns it into what the
same field of a local model gives: each named scalar's ``parse`` from the
scalar registry (``federated_fk.scalars``: ``Decimal``, ``date``,
``datetime`` aware or naive as ``USE_TZ`` says, ``time``, ``UUID``, ...),
enums as their value names, lists of those, and ``None`` for null.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import models

from federated_fk.scalars import BUILTIN, Converter, scalar_named

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake_case(name: str) -> str:
    """Return the Python name of a GraphQL field: ``publishedOn`` → ``published_on``."""
    return _CAMEL.sub(r"_\1", name).lower()


def _any_scalar(value: Any) -> Any:
    # An enum (its value name) or a scalar nobody described: any JSON scalar.
    if not isinstance(value, str | int | float | bool):
        raise TypeError(f"{value!r} is not a scalar")
    return value


def _is_named(graphql_type: str) -> bool:
    return not graphql_type.startswith("[") and not graphql_type.endswith("!")


def named_type(graphql_type: str) -> str:
    """Return the named type of a type string: ``"[Tag!]!"`` → ``"Tag"``."""
    return graphql_type.replace("[", "").replace("]", "").replace("!", "")


def scalar_converter(name: str) -> Converter:
    """Return the converter of the named type ``name``: its scalar's ``parse``, if any."""
    scalar = scalar_named(name)
    return _any_scalar if scalar is None else scalar.parse


def stand_in_field(name: str) -> type[models.Field]:
    """Return the model field class a stand-in's ``_meta`` shows for the named type ``name``."""
    scalar = scalar_named(name)
    return models.Field if scalar is None else scalar.stand_in_field


#: The built-in scalars by their ``parse``: those raise TypeError for null themselves.
_LEAVES = {scalar.parse: scalar for scalar in BUILTIN}


def _refuses_null(leaf: Converter) -> bool:
    scalar = _LEAVES.get(leaf)
    return scalar is not None and not scalar.accepts_null


def converter(graphql_type: str, leaf: Converter) -> Converter:
    """Return the converter of a whole type string, with ``leaf`` for its named type.

    ``!`` refuses null; ``[...]`` maps the inner converter over a list.
    """
    if graphql_type.endswith("!"):
        # A named type's leaf is called directly: one call per value, not two.
        inner = leaf if _is_named(graphql_type[:-1]) else converter(graphql_type[:-1], leaf)
        if _refuses_null(inner):
            return inner  # it refuses null itself

        def non_null(value: Any) -> Any:
            if value is None:
                raise TypeError("null for a non-null field")
            return inner(value)

        return non_null
    if graphql_type.startswith("["):
        item = converter(graphql_type[1:-1], leaf)

        def listed(value: Any) -> Any:
            if value is None:
                return None
            if not isinstance(value, list):
                raise TypeError(f"{value!r} is not a list")
            return [item(v) for v in value]

        return listed

    def nullable(value: Any) -> Any:
        return None if value is None else leaf(value)

    return nullable
