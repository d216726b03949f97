"""The one registry of GraphQL scalars: how a model field's value crosses services.

Each :class:`Scalar` says, for one GraphQL scalar name:

- the Python type of its values (what a local model field gives, and what
  strawberry annotates a field with);
- the model field classes a subgraph publishes as this scalar;
- how a consumer turns the JSON it receives into the Python value
  (``parse``), and how a subgraph turns the Python value into JSON
  (``serialize``; strawberry's own scalars need none);
- the unbound model field a stand-in's ``_meta`` describes such a field with;
- the primary-key type (``PkType``) of a model whose key is such a field.

The subgraph (which scalar a model field becomes), the remote converters
(JSON to Python), the gateway (which type a remote field has) and primary
keys all read this registry; ``FEDERATION["SCALARS"]`` adds to it.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NewType

import strawberry
from django.conf import settings
from django.core.signals import setting_changed
from django.db import models
from django.db.models import ExpressionWrapper, F
from django.db.models.functions import Cast
from django.dispatch import receiver
from django.utils import timezone
from django.utils.module_loading import import_string
from strawberry.scalars import JSON

from federated_fk import conf

__all__ = ["Scalar"]

#: Turns one JSON value into its Python value; raises ValueError or TypeError.
Converter = Callable[[Any], Any]


@dataclass(frozen=True)
class Scalar:
    """One GraphQL scalar and everything each side needs to carry its values.

    :param name: the GraphQL scalar name
    :param python_type: the type of its Python values (None: unknown, the
        gateway publishes such a remote field as a ``String``)
    :param parse: JSON value to Python value; raises TypeError or ValueError
    :param stand_in_field: the model field class a stand-in's ``_meta`` shows
    :param model_fields: the model field classes published as this scalar
        (the first scalar whose classes match a field wins)
    :param serialize: Python value to JSON value, for a scalar strawberry does
        not know; None for strawberry's own
    :param pk_type: the ``PkType`` of a primary key of this scalar, if any
    :param accepts_null: ``parse`` takes ``None`` itself (JSON's ``null``)
    """

    name: str
    python_type: Any
    parse: Converter
    stand_in_field: type[models.Field] = models.Field
    model_fields: tuple[type[models.Field], ...] = ()
    serialize: Callable[[Any], Any] | None = None
    pk_type: str | None = None
    accepts_null: bool = False

    @functools.cached_property
    def annotation(self) -> Any:
        """The type a strawberry field of this scalar is annotated with.

        A scalar strawberry does not know is a ``NewType`` that the schema's
        ``StrawberryConfig(scalar_map=scalar_map())`` defines.
        """
        if self.serialize is None:
            return self.python_type if self.python_type is not None else str
        return NewType(self.name, object)

    def definition(self) -> Any:
        """Return the strawberry definition of a scalar strawberry does not know."""
        return strawberry.scalar(name=self.name, serialize=self.serialize, parse_value=self.parse)


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


def _id_string(value: Any) -> str:
    return str(_id(value))


#: How SQLite's backend reads a float as a Decimal (15 significant digits are stored).
_float_decimal = decimal.Context(prec=15).create_decimal_from_float


def decimal_column(attname: str, vendor: str) -> Any:
    """Return what to select to read a DecimalField's column without Django's converter.

    PostgreSQL gives the exact text of a ``numeric`` (its scale included);
    SQLite gives the float or integer it stores. Either is turned into the
    text strawberry would send by ``decimal_text``, without a ``Decimal`` built
    and printed per value. Other databases: the column as Django reads it.
    """
    if vendor == "postgresql":
        return Cast(attname, models.TextField())
    if vendor == "sqlite":
        return ExpressionWrapper(F(attname), output_field=models.FloatField())
    return attname


def decimal_text(field: models.DecimalField) -> Callable[[Any], str | None]:
    """Return the function that gives a raw value of ``field``'s column (see
    ``decimal_column``) as strawberry sends a ``Decimal``: the same text as
    ``str()`` of the value Django's converter would make (or the error it raises).

    SQLite's backend builds ``Decimal`` from the stored float rounded to 15
    significant digits, then quantizes it to ``decimal_places`` within
    ``max_digits``. A float whose shortest repr has at most 15 significant
    digits and no more decimals than that is exactly that value: its repr,
    padded with zeros, when that text has at most ``max_digits`` digits and
    ``decimal_places`` is at most 6 (with more, ``str()`` of a small or zero
    ``Decimal`` has an exponent). Any other value takes Django's own way.
    """
    places = field.decimal_places
    zeros = "0" * places
    quantum = decimal.Decimal(1).scaleb(-places)
    context = field.context
    # The most digits a text of the quick way may have, its sign and point aside
    # (a leading zero is counted, so that a value near the bound takes Django's way).
    most = min(15, field.max_digits) if places <= _PLAIN_PLACES else -1

    def text(value: Any) -> str | None:
        kind = type(value)
        if kind is str or value is None:
            return value  # PostgreSQL's numeric text: exact
        if kind is int:
            quick = f"{value}.{zeros}" if places else str(value)
        elif kind is float:
            shortest = repr(value)
            point = shortest.find(".")
            decimals = len(shortest) - point - 1
            ok = point > 0 and "e" not in shortest and decimals <= places
            quick = shortest + zeros[decimals:] if ok else ""
        else:
            return str(value)
        if quick and len(quick) - ("." in quick) - (quick[0] == "-") <= most:
            return quick
        return str(_float_decimal(value).quantize(quantum, context=context))

    return text


#: The most decimal places for which ``str()`` of a quantized ``Decimal`` never
#: has an exponent (``str(Decimal("0E-7"))`` is ``"0E-7"``).
_PLAIN_PLACES = 6


def decimal_texts(field: models.DecimalField) -> Callable[[list[Any]], list[str | None]]:
    """As ``decimal_text``, for a column of raw values at once.

    A column of finite floats and integers (SQLite's) is formatted to
    ``decimal_places`` in one pass. Each text is then Django's when it reads
    back as the same float and has at most 15 digits (and at most
    ``max_digits``): the float is then the nearest to that decimal, which
    Django's rounding to 15 digits gives back. Any other column, and any field
    of more than 6 decimal places, is read a value at a time, by ``decimal_text``.
    """
    text = decimal_text(field)
    places = field.decimal_places
    spec = f".{places}f"
    # The digits, a sign and the point: a conservative bound on the digits.
    longest = min(15, field.max_digits) + (1 if places else 0)
    quick = places <= _PLAIN_PLACES

    def texts(values: list[Any]) -> list[str | None]:
        if (
            quick
            and values
            and set(map(type, values)) <= {int, float}
            and all(map(math.isfinite, values))
        ):
            formatted = [format(value, spec) for value in values]
            if max(map(len, formatted)) <= longest and list(map(float, formatted)) == values:
                return formatted  # type: ignore[return-value]
        return [text(value) for value in values]

    return texts


#: The longest text a pattern lookup or a search compares with. A database refuses
#: far longer patterns (SQLite a LIKE pattern over 50,000 bytes).
MAX_TEXT_PATTERN = 10_000

#: The lookups a database runs as a pattern match (LIKE, a regular expression).
PATTERN_LOOKUPS = frozenset(
    {
        "contains",
        "icontains",
        "startswith",
        "istartswith",
        "endswith",
        "iendswith",
        "iexact",
        "regex",
        "iregex",
    }
)


def text_problem(value: str, pattern: bool = False) -> str | None:
    """Say what makes ``value`` text no column holds or no database compares, or None.

    A NUL character (PostgreSQL refuses it, SQLite cuts the text there), a lone
    surrogate (no UTF-8 encodes it), or, for a ``pattern`` (see
    ``PATTERN_LOOKUPS``), more than ``MAX_TEXT_PATTERN`` characters.
    """
    if "\x00" in value:
        return "may not hold NUL characters"
    if pattern and len(value) > MAX_TEXT_PATTERN:
        return f"may be at most {MAX_TEXT_PATTERN} characters long"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (it holds a lone surrogate)"
    return None


def is_finite_number(value: decimal.Decimal | float) -> bool:
    """Whether ``value`` is a number a column can hold: not a NaN (quiet or
    signalling) and not an infinity. Unlike ``math.isfinite``, a signalling
    ``Decimal("sNaN")`` gives False instead of raising."""
    if isinstance(value, decimal.Decimal):
        return value.is_finite()
    return math.isfinite(value)


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


#: The scalars strawberry and strawberry-django emit. Order matters for
#: ``scalar_of_field``: a subclass's scalar comes before its base's
#: (``DateTimeField`` is a ``DateField``).
BUILTIN: tuple[Scalar, ...] = (
    Scalar("Boolean", bool, _exact(bool), models.BooleanField, (models.BooleanField,)),
    Scalar("Decimal", decimal.Decimal, _decimal, models.DecimalField, (models.DecimalField,)),
    Scalar("DateTime", datetime.datetime, _datetime, models.DateTimeField, (models.DateTimeField,)),
    Scalar("Date", datetime.date, _date, models.DateField, (models.DateField,)),
    Scalar("Time", datetime.time, _time, models.TimeField, (models.TimeField,)),
    Scalar("UUID", uuid.UUID, _uuid, models.UUIDField, (models.UUIDField,), pk_type="uuid"),
    Scalar("JSON", JSON, _json, models.JSONField, (models.JSONField,), accepts_null=True),
    Scalar("Int", int, _exact(int), models.IntegerField, (models.IntegerField,), pk_type="int"),
    Scalar("Float", float, _float, models.FloatField, (models.FloatField,)),
    Scalar(
        "String",
        str,
        _str,
        models.TextField,
        (models.CharField, models.TextField, models.GenericIPAddressField),
    ),
    # Not published for a model field; a string key, and what relations carry.
    Scalar("ID", strawberry.ID, _id_string, models.CharField, pk_type="str"),
)


@functools.cache
def scalars() -> dict[str, Scalar]:
    """Return every scalar by name: ``FEDERATION["SCALARS"]`` first, then the built-in ones.

    A setting's value is a :class:`Scalar` (its name is the key), or a
    converter (``parse`` alone: a remote scalar of unknown Python type), or
    the dotted path of either.
    """
    custom = {}
    for name, value in conf.federation_settings()["SCALARS"].items():
        found = import_string(value) if isinstance(value, str) else value
        if not isinstance(found, Scalar):
            found = Scalar(name, None, found)
        custom[name] = found
    return {**custom, **{s.name: s for s in BUILTIN if s.name not in custom}}


def scalar_map() -> dict[Any, Any]:
    """Return the ``StrawberryConfig.scalar_map`` of the registered scalars strawberry lacks."""
    return {s.annotation: s.definition() for s in scalars().values() if s.serialize is not None}


def scalar_named(name: str) -> Scalar | None:
    """Return the scalar called ``name``, or None (an enum, or a scalar nobody described)."""
    return scalars().get(name)


def scalar_of_field(model_field: models.Field) -> Scalar | None:
    """Return the scalar a subgraph publishes ``model_field`` as, or None if none fits.

    Fields with choices get their base type's scalar, never an enum.
    """
    for scalar in scalars().values():
        if isinstance(model_field, scalar.model_fields):
            return scalar
    return None


def scalar_of_pk_type(pk_type: str) -> Scalar:
    """Return the scalar of a primary key of ``pk_type`` (``"int"``, ``"uuid"``, ``"str"``)."""
    return next(s for s in BUILTIN if s.pk_type == pk_type)


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "FEDERATION":
        scalars.cache_clear()
