"""Converters from GraphQL values to the Python values a local model field gives."""

import datetime
import decimal
import uuid

import pytest
from django.test import override_settings

from federated_fk.remote.converters import converter, scalar_converter
from federated_fk.scalars import BUILTIN


def convert(graphql_type, value):
    name = graphql_type.replace("[", "").replace("]", "").replace("!", "")
    return converter(graphql_type, scalar_converter(name))(value)


@pytest.mark.parametrize(
    ("graphql_type", "value", "expected"),
    [
        ("String!", "Dune", "Dune"),
        ("Int", 412, 412),
        ("Float", 3, 3.0),
        ("Boolean!", False, False),
        ("Decimal!", "12.99", decimal.Decimal("12.99")),
        ("Date", "2021-10-03", datetime.date(2021, 10, 3)),
        ("Time", "09:30:00.250000", datetime.time(9, 30, 0, 250000)),
        (
            "UUID",
            "6f1c2b4e-6d8a-4f0e-9a55-0d1f2b3c4d5e",
            uuid.UUID("6f1c2b4e-6d8a-4f0e-9a55-0d1f2b3c4d5e"),
        ),
        ("JSON", {"a": [1, None]}, {"a": [1, None]}),
        ("ID!", 7, "7"),
        ("BookBinding", "HARDCOVER", "HARDCOVER"),  # an enum: its value name
        ("[Int!]!", [1, 2], [1, 2]),
        ("[Date]", ["2021-10-03", None], [datetime.date(2021, 10, 3), None]),
        ("Decimal", None, None),
    ],
)
def test_values_arrive_as_python_types(graphql_type, value, expected):
    result = convert(graphql_type, value)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    ("graphql_type", "value"),
    [
        ("String!", None),
        ("String", 5),
        ("Int", True),
        ("Int", "5"),
        ("Boolean", 1),
        ("Decimal", 1.5),  # a float would have lost digits already
        ("Decimal", "twelve"),
        ("Date", "03/10/2021"),
        ("UUID", "not-a-uuid"),
        ("[Int]", 5),
        ("BookBinding", {"x": 1}),
    ],
)
def test_values_of_the_wrong_shape_are_refused(graphql_type, value):
    with pytest.raises((TypeError, ValueError)):
        convert(graphql_type, value)


@override_settings(USE_TZ=True, TIME_ZONE="Europe/Paris")
def test_datetimes_are_aware_in_utc_with_use_tz():
    aware = convert("DateTime", "2021-10-03T12:00:00.123456+02:00")
    assert aware == datetime.datetime(2021, 10, 3, 10, 0, 0, 123456, tzinfo=datetime.UTC)
    assert aware.tzinfo is datetime.UTC
    naive = convert("DateTime", "2021-10-03T12:00:00")  # read in the default time zone
    assert naive == datetime.datetime(2021, 10, 3, 10, 0, tzinfo=datetime.UTC)


@override_settings(USE_TZ=False, TIME_ZONE="Europe/Paris")
def test_datetimes_are_naive_local_without_use_tz():
    value = convert("DateTime", "2021-10-03T10:00:00+00:00")
    assert value == datetime.datetime(2021, 10, 3, 12, 0) and value.tzinfo is None


def _money(value):
    return decimal.Decimal(value["amount"])


def test_custom_scalars_come_from_settings(settings):
    settings.FEDERATION = {**settings.FEDERATION, "SCALARS": {"Money": _money}}
    assert convert("Money!", {"amount": "3.10"}) == decimal.Decimal("3.10")
    path = f"{__name__}._money"
    settings.FEDERATION = {**settings.FEDERATION, "SCALARS": {"Money": path}}
    assert convert("Money", {"amount": "1"}) == decimal.Decimal("1")
    assert "Money" not in {scalar.name for scalar in BUILTIN}
