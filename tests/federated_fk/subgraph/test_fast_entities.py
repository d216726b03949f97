"""The fast completion of ``_entities`` answers the same bytes as graphql-core's."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from federated_fk.graphql_completion import Unknown
from federated_fk.subgraph import fast_entities
from tests.federated_fk.subgraph.test_model_types import editions  # noqa: F401
from tests.remoteshop.schema import schema

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("editions")]

#: As the client generates it: __typename, then each type's fields, relations as { id }.
#: (Book's ``author`` is left out: a String here, an Author on Edition, it cannot merge.)
CLIENT_QUERY = (
    "query FederatedEntities($representations: [_Any!]!) { _entities(representations: "
    "$representations) { __typename ... on Book { id price title } ... on Edition "
    "{ id author { id } binding book { id } code extra inPrint opensAt pages price printedAt "
    "publishedOn related { id } subtitle weight } ... on Gadget { id name } } }"
)

REPRESENTATIONS = [
    *({"__typename": "Edition", "id": str(i)} for i in (1, 2, 3, 99)),
    *({"__typename": "Book", "id": i} for i in ("1", "100", "7", " 7", "1.0", "x", "")),
    {"__typename": "Gadget", "id": "not-a-uuid"},
    {"__typename": "Edition", "id": "-1"},
]


def answer(client, query, representations):
    body = {"query": query, "variables": {"representations": representations}}
    response = client.post("/graphql/", json.dumps(body), content_type="application/json")
    assert response.status_code == 200
    return response.content


@pytest.fixture
def spy(monkeypatch):
    """Record whether each ``_entities`` list took the fast path."""
    taken = []
    complete = fast_entities.FastEntitiesExecutionContext.complete_fast

    def recorded(self, *args):
        try:
            result = complete(self, *args)
        except Unknown:
            taken.append(False)
            raise
        taken.append(True)
        return result

    monkeypatch.setattr(fast_entities.FastEntitiesExecutionContext, "complete_fast", recorded)
    return taken


def normal_answer(client, monkeypatch, query, representations):
    with monkeypatch.context() as patch:
        patch.setattr(schema, "execution_context_class", StrawberryGraphQLCoreExecutionContext)
        return answer(client, query, representations)


def test_every_field_kind_hidden_rows_and_bad_ids_give_the_same_bytes(client, spy, monkeypatch):
    fast = answer(client, CLIENT_QUERY, REPRESENTATIONS)
    assert spy == [True]
    normal = normal_answer(client, monkeypatch, CLIENT_QUERY, REPRESENTATIONS)
    assert spy == [True]  # the normal context never calls the fast path
    assert fast == normal
    body = json.loads(fast)
    entities = body["data"]["_entities"]
    assert entities[0]["price"] == "12.50" and entities[0]["related"] == [{"id": "2"}, {"id": "3"}]
    assert entities[2]["book"] is None  # its book is hidden
    assert entities[3] is None and entities[5] is None  # missing, hidden
    assert [e["path"] for e in body["errors"]] == [["_entities", i] for i in (7, 8, 9, 10, 11)]


def test_what_the_fast_path_does_not_know_goes_the_normal_way(client, spy, monkeypatch):
    queries = [
        # a field of a related object besides its id
        CLIENT_QUERY.replace("book { id }", "book { id title }"),
        # a fragment spread
        "query ($representations: [_Any!]!) { _entities(representations: $representations) "
        "{ ...E } } fragment E on Edition { id pages }",
        # a directive
        "query ($representations: [_Any!]!) { _entities(representations: $representations) "
        "{ ... on Edition { id pages @include(if: true) } } }",
    ]
    for query in queries:
        fast = answer(client, query, REPRESENTATIONS[:3])
        assert fast == normal_answer(client, monkeypatch, query, REPRESENTATIONS[:3])
        assert b'"errors"' not in fast
    assert spy == [False, False, False]


def test_aliases_and_repeated_fields_give_the_same_bytes(client, spy, monkeypatch):
    query = (
        "query ($representations: [_Any!]!) { _entities(representations: $representations) "
        "{ t: __typename ... on Edition { p: pages id pages code } ... on Edition { pages "
        "weight b: book { id } } } }"
    )
    fast = answer(client, query, REPRESENTATIONS[:4])
    assert spy == [True]
    assert fast == normal_answer(client, monkeypatch, query, REPRESENTATIONS[:4])


PLAIN_QUERY = (
    "query ($representations: [_Any!]!) { _entities(representations: $representations) "
    "{ __typename ... on Book { id price title } ... on Gadget { id name } } }"
)
PLAIN = [
    *({"__typename": "Book", "id": i} for i in ("1", "100", "7", " 7", "x")),
    {"__typename": "Gadget", "id": "not-a-uuid"},
]


@pytest.fixture
def instances():
    """Count the model instances made (Django sends post_init for each)."""
    from django.db.models.signals import post_init

    made = []

    def count(sender, **kwargs):
        made.append(sender)

    post_init.connect(count)
    yield made
    post_init.disconnect(count)


def test_a_plain_selection_is_answered_from_columns_with_no_model_instance(
    client, spy, monkeypatch, instances
):
    from tests.remoteshop.models import Book

    fast = answer(client, PLAIN_QUERY, PLAIN)
    assert spy == [True]
    assert Book not in instances  # values_list rows, completed as they came
    assert fast == normal_answer(client, monkeypatch, PLAIN_QUERY, PLAIN)
    assert Book in instances  # the normal way makes them
    entities = json.loads(fast)["data"]["_entities"]
    assert entities[0] == {"__typename": "Book", "id": "1", "price": "1.00", "title": "Book 1"}
    assert entities[1] is None  # hidden


def test_the_columns_selected_are_the_key_and_those_the_selection_reads(client, spy):
    query = PLAIN_QUERY.replace("id price title", "title")
    with CaptureQueriesContext(connection) as queries:
        body = json.loads(answer(client, query, PLAIN[:3]))
    assert spy == [True]
    assert body["data"]["_entities"][0] == {"__typename": "Book", "title": "Book 1"}
    (book_query,) = [q["sql"] for q in queries if "remoteshop_book" in q["sql"]]
    selected = book_query.split(" FROM ")[0]
    assert '"id"' in selected and '"title"' in selected
    assert not any(f'"{column}"' in selected for column in ("author", "price", "published"))


def test_rows_completed_from_columns_go_the_normal_way_when_the_rest_must(client, spy, monkeypatch):
    # Edition's book { id title } is only for graphql-core: the whole list goes
    # the normal way, the books completed from columns made rows again.
    query = PLAIN_QUERY.replace(
        "... on Gadget { id name }", "... on Edition { id book { id title } }"
    )
    representations = [*PLAIN[:3], *({"__typename": "Edition", "id": str(i)} for i in (1, 2))]
    with CaptureQueriesContext(connection) as fast_queries:
        fast = answer(client, query, representations)
    assert spy == [False]
    with CaptureQueriesContext(connection) as normal_queries:
        assert fast == normal_answer(client, monkeypatch, query, representations)
    assert b'"errors"' not in fast
    # The rows made again read no column the query left out: no query per row.
    assert len(fast_queries) <= len(normal_queries)


EDITION_COLUMNS = (
    "query ($representations: [_Any!]!) { _entities(representations: $representations) "
    "{ __typename ... on Edition { id pages weight extra opensAt subtitle inPrint binding "
    "price code publishedOn printedAt } } }"
)


def test_every_scalar_kind_is_completed_from_columns_as_graphql_core_completes_it(
    client, spy, monkeypatch, instances
):
    from tests.remoteshop.models import Edition

    Edition.objects.filter(pk=2).update(weight=None, extra=None, opens_at=None, subtitle="")
    representations = [{"__typename": "Edition", "id": str(i)} for i in (1, 2, 3, 99)]
    fast = answer(client, EDITION_COLUMNS, representations)
    assert spy == [True] and Edition not in instances
    assert fast == normal_answer(client, monkeypatch, EDITION_COLUMNS, representations)
    entities = json.loads(fast)["data"]["_entities"]
    assert entities[1]["weight"] is None and entities[1]["opensAt"] is None
    assert entities[3] is None


@pytest.mark.parametrize(
    "query", [EDITION_COLUMNS, CLIENT_QUERY], ids=["from columns", "from instances"]
)
def test_a_value_graphql_core_refuses_sends_the_list_the_normal_way(
    client, spy, monkeypatch, query
):
    from django.db import connection

    from tests.remoteshop.models import Edition

    # graphql-core makes an error of this item alone: a Float that is no number
    # (PostgreSQL keeps NaN; SQLite stores it as NULL), an Int past 32 bits (SQLite's
    # integer column holds one; PostgreSQL's does not).
    if connection.vendor == "postgresql":
        Edition.objects.filter(pk=2).update(weight=float("nan"))
        field = "weight"
    else:
        Edition.objects.filter(pk=2).update(pages=2**40)
        field = "pages"
    representations = [{"__typename": "Edition", "id": str(i)} for i in (1, 2, 3)]
    fast = answer(client, query, representations)
    assert spy == [False]  # tried, and given up to graphql-core
    assert fast == normal_answer(client, monkeypatch, query, representations)
    body = json.loads(fast)
    assert body["data"]["_entities"][0] is not None and body["data"]["_entities"][2] is not None
    assert [e["path"] for e in body["errors"]] == [["_entities", 1, field]]


def test_a_type_with_nothing_selected_completes_as_an_empty_object(client, spy, monkeypatch):
    # Editions asked for, only a Gadget's field selected: graphql-core answers {} for each.
    query = (
        "query ($representations: [_Any!]!) { _entities(representations: $representations) "
        "{ ... on Gadget { id } } }"
    )
    representations = [{"__typename": "Edition", "id": str(i)} for i in (1, 2, 99)]
    fast = answer(client, query, representations)
    assert spy == [True]
    assert fast == normal_answer(client, monkeypatch, query, representations)
    assert json.loads(fast) == {"data": {"_entities": [{}, {}, None]}}
