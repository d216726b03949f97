"""Ids are exact: one row, or a clear error for that id alone."""

import uuid

import pytest
from django.db import connection

from federated_fk.ids import InvalidId, parse_id, parse_ids, parse_remote_id
from tests.federated_fk.test_subgraph import ENTITIES, post, rows  # noqa: F401
from tests.remoteshop.models import Book, Gadget, gadget_id

pytestmark = pytest.mark.django_db

LOOSE_INTEGERS = [
    1.5,
    1.0,
    True,
    False,
    " 1 ",
    "1 ",
    "+1",
    "1_0",
    "\uff11",  # full-width digit one
    "\u0663",  # Arabic-Indic digit three
    "0x1",
    "1e3",
    "",
    None,
    [1],
    {"id": 1},
    "9" * 19,
    2**63,
    -(2**63) - 1,
    "1" * 5000,
]


@pytest.mark.parametrize("value", LOOSE_INTEGERS, ids=repr)
def test_integer_ids_must_be_exact_and_in_range(value):
    with pytest.raises(InvalidId) as info:
        parse_id(Book, value)
    assert "is not a valid remoteshop.Book id" in str(info.value)
    assert len(str(info.value)) < 200  # a huge value is cut short in the message


@pytest.mark.parametrize(("value", "expected"), [("7", 7), (7, 7), ("-3", -3), ("0", 0)])
def test_exact_integer_ids(value, expected):
    assert parse_id(Book, value) == expected


@pytest.mark.parametrize(
    "batch",
    [
        ["1", "2", "30"],
        ["1", "2", *LOOSE_INTEGERS],
        ["1", "-2"],
        ["1", ""],
        ["1", "9" * 19],
        ["1", "\u0663"],
        ["7", 8],
        [],
    ],
    ids=repr,
)
def test_a_batch_of_ids_is_parsed_as_each_id_alone(batch):
    # A batch of ASCII-digit strings takes a quicker path: the same results.
    def alone(value):
        try:
            return parse_id(Book, value)
        except InvalidId as exc:
            return str(exc)

    parsed = [str(p) if isinstance(p, InvalidId) else p for p in parse_ids(Book, batch)]
    assert parsed == [alone(value) for value in batch]
    assert all(type(p) is int for p in parsed if not isinstance(p, str))


def test_the_largest_id_is_the_columns_own():
    # An AutoField is 64 bits on SQLite, 32 on PostgreSQL: the range is the database's.
    _, largest = connection.ops.integer_field_range(Book._meta.pk.get_internal_type())
    assert parse_id(Book, str(largest)) == largest
    with pytest.raises(InvalidId, match="out of range"):
        parse_id(Book, str(largest + 1))


def test_uuid_ids_in_the_forms_uuidfield_accepts():
    value = uuid.UUID("12345678-1234-5678-1234-567812345678")
    for form in (str(value), value.hex, "{" + str(value) + "}", value.urn, str(value).upper()):
        assert parse_id(Gadget, form) == value
    assert parse_id(Gadget, value) == value
    full_width = "\uff11" * 32
    for bad in (value.int, True, " " + str(value), full_width, str(value)[:-1], "urn:" + value.hex):
        with pytest.raises(InvalidId):
            parse_id(Gadget, bad)


def test_remote_ids_use_the_widest_range():
    assert parse_remote_id("shop_b books.book", "int", "9223372036854775807") == 2**63 - 1
    with pytest.raises(InvalidId, match="out of range"):
        parse_remote_id("shop_b books.book", "int", "9223372036854775808")
    assert parse_remote_id("x", "str", " 1 ") == " 1 "  # strings as given
    with pytest.raises(InvalidId):
        parse_remote_id("x", "str", 1)


def entities(client, *representations):
    status, body = post(client, ENTITIES, {"representations": list(representations)})
    assert status == 200
    return body


@pytest.mark.parametrize(
    "bad_id", [1.5, True, " 1 ", "\uff11", "99999999999999999999", 2**64, -(2**63) - 1, None, [1]]
)
def test_a_loose_or_huge_id_fails_only_its_own_entity(client, rows, bad_id):  # noqa: F811
    body = entities(
        client,
        {"__typename": "Book", "id": "1"},
        {"__typename": "Book", "id": bad_id},
        {"__typename": "Book", "id": 2},
    )
    first, bad, last = body["data"]["_entities"]
    assert (first["title"], last["title"]) == ("Book 1", "Book 2")
    assert bad is None
    (error,) = body["errors"]
    assert error["path"] == ["_entities", 1]
    assert "is not a valid remoteshop.Book id" in error["message"]


def test_a_malformed_uuid_fails_only_its_own_entity(client, rows):  # noqa: F811
    body = entities(
        client,
        {"__typename": "Gadget", "id": str(gadget_id(1))},
        {"__typename": "Gadget", "id": "\uff11" * 32},
    )
    assert body["data"]["_entities"][0]["name"] == "Gadget 1"
    assert body["data"]["_entities"][1] is None
    assert body["errors"][0]["message"].endswith("id: expected a UUID.")


@pytest.mark.parametrize("value", ["a\x00b", "\ud800", "x\udfff"])
def test_string_ids_no_column_holds_are_refused(value):
    from tests.testapp.models import Shelf

    with pytest.raises(InvalidId, match=r"NUL|lone surrogate"):
        parse_id(Shelf, value)
    assert parse_id(Shelf, "ok-\U0001f600") == "ok-\U0001f600"  # a pair, not a lone half
