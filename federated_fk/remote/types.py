"""From GraphQL types to Python values: one converter per remote field.

A remote field arrives as JSON; its converter, chosen from the field's SDL
type when the entity type is built (not per value), turns it into what the
same field of a local model gives: ``Decimal``, ``date``, ``datetime`` (aware
or naive as ``USE_TZ`` says), ``time``, ``UUID``, ``bool``, ``int``,
``float``, ``str``, JSON as decoded, enums as their value names, lists of
those, and ``None`` for null. ``FEDERATION["SCALARS"]`` maps further scalar
names to converters.
"""

from __future__ import annotations

import datetime
import decimal
import re
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from federated_fk import conf

#: Turns one JSON value into its Python value; raises ValueError or TypeError.
Converter = Callable[[Any], Any]

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake_case(name: str) -> str:
    """Return the Python name of a GraphQL field: ``publishedOn`` → ``published_on``."""
    return _CAMEL.sub(r"_\1", name).lower()


def _exact(*types: type) -> Converter:
    refuse_bool = bool not in types  # bool is an int: refused unless asked for

    def convert(value: Any) -> Any:
        if not isinstance(value, types) or (refuse_bool and isinstance(value, bool)):
            if isinstance(value, bool):
                raise TypeError(f"{value!r} is a boolean")
            raise TypeError(f"{value!r} is a {type(value).__name__}")
        return value

    return convert


_str = _exact(str)
_number = _exact(int, float)
_id = _exact(str, int)


def _decimal(value: Any) -> decimal.Decimal:
    # strawberry sends Decimal as a string, so that no digit is lost in a float.
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise TypeError(f"{value!r} is not a decimal string")
    try:
        return decimal.Decimal(value)
    except decimal.InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal") from None


def _float(value: Any) -> float:
    return float(_number(value))


def _date(value: Any) -> datetime.date:
    return datetime.date.fromisoformat(_str(value))


def _time(value: Any) -> datetime.time:
    return datetime.time.fromisoformat(_str(value))


def _uuid(value: Any) -> uuid.UUID:
    return uuid.UUID(_str(value))


def _datetime(value: Any) -> datetime.datetime:
    """Return the datetime a local ``DateTimeField`` would give, as the database does."""
    parsed = datetime.datetime.fromisoformat(_str(value))
    if settings.USE_TZ:
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed, timezone.get_default_timezone())
        return parsed.astimezone(datetime.UTC)
    if timezone.is_aware(parsed):
        return timezone.make_naive(parsed, timezone.get_default_timezone())
    return parsed


def _json(value: Any) -> Any:
    return value


#: The scalars strawberry and strawberry-django emit, by GraphQL name.
SCALARS: dict[str, Converter] = {
    "String": _str,
    "ID": lambda value: str(_id(value)),
    "Int": _exact(int),
    "Float": _float,
    "Boolean": _exact(bool),
    "Decimal": _decimal,
    "Date": _date,
    "DateTime": _datetime,
    "Time": _time,
    "UUID": _uuid,
    "JSON": _json,
}

#: The converters that raise TypeError for null themselves (JSON takes it).
_REFUSING_NULL = frozenset(c for name, c in SCALARS.items() if name != "JSON")

#: The unbound model field a local model would declare for each scalar, for ``_meta``.
MODEL_FIELDS: dict[str, type[models.Field]] = {
    "String": models.TextField,
    "ID": models.CharField,
    "Int": models.IntegerField,
    "Float": models.FloatField,
    "Boolean": models.BooleanField,
    "Decimal": models.DecimalField,
    "Date": models.DateField,
    "DateTime": models.DateTimeField,
    "Time": models.TimeField,
    "UUID": models.UUIDField,
    "JSON": models.JSONField,
}


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
    """Return the converter of the named scalar ``name`` (custom ones from settings)."""
    custom = conf.custom_scalars().get(name)
    if custom is not None:
        return custom
    return SCALARS.get(name, _any_scalar)


def converter(graphql_type: str, leaf: Converter) -> Converter:
    """Return the converter of a whole type string, with ``leaf`` for its named type.

    ``!`` refuses null; ``[...]`` maps the inner converter over a list.
    """
    if graphql_type.endswith("!"):
        # A named type's leaf is called directly: one call per value, not two.
        inner = leaf if _is_named(graphql_type[:-1]) else converter(graphql_type[:-1], leaf)
        if inner in _REFUSING_NULL:
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
