"""Exact primary-key parsing: an id means one row, or it is refused.

``Field.to_python`` is lenient on purpose (forms): ``int(" 1 ")``, ``int(1.5)``,
``int(True)`` and full-width digits all give 1, and a 20-digit number passes
only to fail in the database, for every id of the query at once. Ids that
travel between services must be exact, and a bad one must fail alone.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import connections, models, router

from federated_fk.exceptions import FederationError

#: An integer id as text: ASCII digits, an optional leading minus, nothing else.
_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)

#: The forms ``uuid.UUID`` reads, in ASCII: hex with or without hyphens,
#: braces or a ``urn:uuid:`` prefix (what Django's UUIDField accepts).
_UUID = re.compile(
    r"(?:urn:uuid:)?\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?",
    re.ASCII | re.IGNORECASE,
)


class InvalidId(FederationError, ValueError):
    """An id that names no possible row of a model: malformed or out of range.

    :param model: the model's label, e.g. ``"books.Book"``
    :param value: the id as given
    :param why: what is wrong with it
    """

    def __init__(self, model: str, value: Any, why: str) -> None:
        self.model = model
        self.value = value
        self.why = why
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        super().__init__(f"{shown} is not a valid {model} id: {why}.")


def pk_field(model: type[models.Model]) -> models.Field:
    """Return the field whose column holds ``model``'s primary key values."""
    field = model._meta.pk
    # A child model of multi-table inheritance keys on its parent's pk.
    while getattr(field, "target_field", None) is not None and field.remote_field:
        field = field.target_field
    return field


def parse_id(model: type[models.Model], value: Any, using: str | None = None) -> Any:
    """Return ``value`` as a primary key of ``model``, exactly, or raise ``InvalidId``.

    Integer keys: an ``int`` (not a bool) or a string of ASCII digits with an
    optional leading minus, within the column's range on the database
    ``using`` (default: where ``model`` is read from). UUID keys: a
    ``uuid.UUID`` or a string in a form ``UUIDField`` accepts. Other keys:
    a string, as given.

    :raises InvalidId: when ``value`` cannot be such a key
    """
    return id_parser(model, using)(value)


def id_parser(model: type[models.Model], using: str | None = None) -> Callable[[Any], Any]:
    """Return ``parse_id`` for ``model`` and ``using``, with what it looks up done once.

    For checking many ids of one model: the key's type, range and label are
    found here, not per id.
    """
    return _parser(model, using)[0]


def _parser(
    model: type[models.Model], using: str | None
) -> tuple[Callable[[Any], Any], tuple[int | None, int | None] | None]:
    """``id_parser``, and the range of an integer key (None for other keys)."""
    field = pk_field(model)
    internal = field.get_internal_type()
    label = model._meta.label
    connection = connections[using or router.db_for_read(model)]
    if internal in connection.ops.integer_field_ranges or internal.endswith("AutoField"):
        bounds = connection.ops.integer_field_range(internal)
        return partial(_integer, label, bounds=bounds), bounds
    if internal == "UUIDField":
        return partial(_uuid, label), None
    return partial(_string, label, getattr(field, "max_length", None)), None


def _string(label: str, max_length: int | None, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidId(label, value, f"expected a string, got {type(value).__name__}")
    if max_length is not None and len(value) > max_length:
        raise InvalidId(label, value, f"longer than {max_length} characters")
    if "\x00" in value:
        raise InvalidId(label, value, "it holds a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidId(label, value, "it holds a lone surrogate") from None
    return value


def _integer(label: str, value: Any, bounds: tuple[int | None, int | None]) -> int:
    if type(value) is str and len(value) <= 40 and value.isascii() and value.isdigit():
        number = int(value)  # the usual id: ASCII digits, checked without the pattern
    elif isinstance(value, str):
        # The length first: int() of a huge string is slow, then refused.
        if len(value) > 40 or not _INTEGER.fullmatch(value):
            raise InvalidId(label, value, "expected an integer in ASCII digits")
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise InvalidId(label, value, f"expected an integer, got {type(value).__name__}")
    low, high = bounds
    if (low is not None and number < low) or (high is not None and number > high):
        raise InvalidId(label, value, f"out of range ({low} to {high})")
    return number


def _ascii_integers(values: list[Any], bounds: tuple[int | None, int | None]) -> list[int] | None:
    """The integer of each value, when every one is a string of ASCII digits
    within ``bounds`` (the usual batch); None otherwise (then each is checked alone).
    """
    try:
        joined = "".join(values)
    except TypeError:
        return None  # not all strings
    if not (values and joined.isascii() and joined.isdigit()):
        return None  # a minus sign, a non-digit, or nothing at all
    if any(len(value) > 40 or not value for value in values):
        return None  # an empty string, or one too long to read as quickly
    numbers = list(map(int, values))
    low, high = bounds
    if (low is not None and min(numbers) < low) or (high is not None and max(numbers) > high):
        return None
    return numbers


def _uuid(label: str, value: Any) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str) or not _UUID.fullmatch(value):
        raise InvalidId(label, value, "expected a UUID")
    return uuid.UUID(value)


#: The range of an integer id of another service, whose database is unknown
#: here: the widest integer column of the supported databases.
REMOTE_INTEGER_RANGE = (-(2**63), 2**63 - 1)


def parse_remote_id(label: str, pk_type: str, value: Any) -> Any:
    """Return ``value`` as an id of a remote type whose keys are ``pk_type``.

    As ``parse_id``, with the range of a 64-bit integer for integer keys.

    :param label: the remote type, for the message (``"shop_b books.book"``)
    :raises InvalidId: when ``value`` cannot be such a key
    """
    if pk_type == "int":
        return _integer(label, value, REMOTE_INTEGER_RANGE)
    if pk_type == "uuid":
        return _uuid(label, value)
    if not isinstance(value, str):
        raise InvalidId(label, value, f"expected a string, got {type(value).__name__}")
    return value


def parse_ids(model: type[models.Model], values: list[Any], using: str | None = None) -> list[Any]:
    """Return ``parse_id`` of each value, or the ``InvalidId`` it raised, in order."""
    parse, bounds = _parser(model, using)  # what it looks up, once for all the values
    if bounds is not None:
        numbers = _ascii_integers(values, bounds)
        if numbers is not None:
            return numbers
    parsed: list[Any] = []
    for value in values:
        try:
            parsed.append(parse(value))
        except InvalidId as exc:
            parsed.append(exc)
    return parsed
