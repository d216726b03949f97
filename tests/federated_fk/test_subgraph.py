"""The subgraph helpers, served in-process by Django's test client."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.remoteshop.models import Audiobook, Book, Gadget, gadget_id

pytestmark = pytest.mark.django_db

ENTITIES = """
query ($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Book { id title price }
    ... on Gadget { id name }
    ... on Audiobook { id title durationMinutes }
  }
}
"""


@pytest.fixture
def rows():
    Book.objects.bulk_create(
        Book(id=i, title=f"Book {i}", author="A", price=i, published=i != 3) for i in range(1, 6)
    )
    Gadget.objects.bulk_create(Gadget(id=gadget_id(i), name=f"Gadget {i}") for i in range(1, 4))
    Audiobook.objects.create(id=1, title="Audio", narrator="N", duration_minutes=90)


def post(client, query, variables=None, **headers):
    response = client.post(
        "/graphql/",
        json.dumps({"query": query, "variables": variables or {}}),
        content_type="application/json",
        **headers,
    )
    return response.status_code, response.json()


def reps(*pairs):
    return {"representations": [{"__typename": t, "id": str(i)} for t, i in pairs]}


def test_a_batch_costs_one_query_per_type(client, rows):
    wanted = [("Book", i) for i in (1, 2, 4, 5)] + [("Gadget", gadget_id(i)) for i in (1, 2, 3)]
    with CaptureQueriesContext(connection) as queries:
        status, body = post(client, ENTITIES, reps(*wanted, ("Audiobook", 1)))
    assert status == 200 and "errors" not in body
    assert len(queries) == 3  # books, gadgets, audiobooks: not one per representation
    entities = body["data"]["_entities"]
    assert [e["__typename"] for e in entities] == ["Book"] * 4 + ["Gadget"] * 3 + ["Audiobook"]
    assert entities[0] == {"__typename": "Book", "id": "1", "title": "Book 1", "price": "1.00"}
    assert entities[7]["durationMinutes"] == 90


def test_hidden_rows_look_like_missing_rows(client, rows):
    status, body = post(client, ENTITIES, reps(("Book", 3), ("Book", 999)))
    assert status == 200
    assert body == {"data": {"_entities": [None, None]}}


def test_a_malformed_id_fails_only_its_own_entity(client, rows):
    status, body = post(client, ENTITIES, reps(("Book", 1), ("Gadget", "not-a-uuid")))
    assert status == 200
    assert body["data"]["_entities"][0]["title"] == "Book 1"
    assert body["data"]["_entities"][1] is None
    (error,) = body["errors"]
    assert error["path"] == ["_entities", 1]
    assert error["message"] == "'not-a-uuid' is not a valid remoteshop.Gadget id: expected a UUID."


def test_sdl_names_each_model(client):
    status, body = post(client, "{ _service { sdl } }")
    assert status == 200
    sdl = body["data"]["_service"]["sdl"]
    assert (
        'type Book @djangoModel(appLabel: "remoteshop", model: "book", pkType: "int", '
        'listable: true, project: "shop_a") '
        '@key(fields: "id")'
    ) in sdl
    assert 'model: "gadget", pkType: "uuid"' in sdl
    assert "published: Boolean" not in sdl  # not in the exposed fields


def test_with_a_token_configured_callers_without_it_are_refused(client, rows, settings):
    settings.FEDERATION = {**settings.FEDERATION, "SUBGRAPH_TOKEN": "s3cret-token"}
    for headers in (
        {},
        {"HTTP_AUTHORIZATION": "Bearer wrong"},
        {"HTTP_AUTHORIZATION": "s3cret-token"},
    ):
        for query in (ENTITIES, "{ _service { sdl } }"):
            status, body = post(client, query, reps(("Book", 1)), **headers)
            assert status == 401
            assert "data" not in body
            assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
            assert "s3cret" not in json.dumps(body)
    status, body = post(
        client, ENTITIES, reps(("Book", 1)), HTTP_AUTHORIZATION="Bearer s3cret-token"
    )
    assert status == 200 and body["data"]["_entities"][0]["title"] == "Book 1"


def test_listable_types_page_through_visible_ids(client, rows):
    query = (
        "query ($t: String!, $o: Int!, $l: Int!) "
        "{ federatedIds(typeName: $t, offset: $o, limit: $l) { ids total } }"
    )
    status, body = post(client, query, {"t": "Book", "o": 1, "l": 2})
    assert status == 200
    assert body["data"]["federatedIds"] == {"ids": ["2", "4"], "total": 4}  # 3 is hidden
    _, body = post(client, query, {"t": "Gadget", "o": 0, "l": 2})
    assert body["errors"][0]["message"] == "'Gadget' is not a listable type; listable: Book."
    _, body = post(client, query, {"t": "Book", "o": 0, "l": 5000})
    assert body["errors"][0]["message"] == "offset must be >= 0 and limit from 1 to 1000."


def test_an_unknown_typename_gets_a_clear_error(client, rows):
    status, body = post(client, ENTITIES, reps(("Book", 1), ("Spaceship", 1)))
    assert status == 200
    assert body["data"] is None
    assert body["errors"][0]["message"] == (
        "Unknown entity type 'Spaceship'; this subgraph has: Audiobook, Book, Clip, Edition, "
        "Gadget, Movie."
    )


@pytest.mark.parametrize("type_name", [["Book"], {"a": 1}, 7, None])
def test_a_typename_that_is_no_string_gets_a_clear_error(client, rows, type_name):
    variables = {"representations": [{"__typename": type_name, "id": "1"}]}
    status, body = post(client, ENTITIES, variables)
    assert status == 200
    assert body["data"] is None
    assert body["errors"][0]["message"].startswith("Unknown entity type None; this subgraph has:")


def test_too_many_representations_get_a_clear_error(client, rows):
    status, body = post(client, ENTITIES, reps(*[("Book", i) for i in range(10_000)]))
    assert status == 200
    assert body["errors"][0]["message"] == (
        "The operation asks for 10000 entities in all its _entities selections; allowed: 1000."
    )


def test_a_string_for_an_integer_key_fails_only_its_entity(client, rows):
    status, body = post(client, ENTITIES, reps(("Book", "abc"), ("Book", 2)))
    assert status == 200
    assert body["data"]["_entities"][1]["title"] == "Book 2"
    assert body["errors"][0]["message"] == (
        "'abc' is not a valid remoteshop.Book id: expected an integer in ASCII digits."
    )
