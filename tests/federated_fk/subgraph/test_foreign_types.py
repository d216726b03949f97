"""_entities beside entity types the Subgraph did not make, and in a plain strawberry schema."""

import pytest
import strawberry
from asgiref.sync import async_to_sync
from django.db import connection
from django.test.utils import CaptureQueriesContext

from federated_fk.subgraph import Subgraph
from tests.remoteshop.models import Book

pytestmark = pytest.mark.django_db(transaction=True)

QUERY = """
query ($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Book { id title }
    ... on Shipment { id status }
  }
}
"""


@strawberry.federation.type(keys=["id"])
class Shipment:
    """An entity type written by hand, not made from a model."""

    id: strawberry.ID
    status: str

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> "Shipment":
        return cls(id=id, status=f"shipped {id}")


def make_schema(plain: bool) -> strawberry.federation.Schema:
    subgraph = Subgraph()
    subgraph.entity(Book, fields=["title"])(type("Book", (), {}))
    if plain:  # strawberry's own schema: each Book through resolve_reference
        return strawberry.federation.Schema(query=_Query, types=[*subgraph.entities, Shipment])
    return subgraph.schema(types=[Shipment])


@strawberry.type
class _Query:
    hello: str = "hi"


def run(schema, *pairs):
    representations = [{"__typename": t, "id": i} for t, i in pairs]
    result = async_to_sync(schema.execute)(
        QUERY, variable_values={"representations": representations}
    )
    return result


@pytest.fixture
def books():
    Book.objects.bulk_create(
        Book(id=i, title=f"Book {i}", author="A", price=1, published=True) for i in (1, 2)
    )


def test_model_types_are_batched_and_foreign_types_resolved_by_strawberry(books):
    schema = make_schema(plain=False)
    with CaptureQueriesContext(connection) as queries:
        result = run(schema, ("Book", "1"), ("Shipment", "7"), ("Book", "2"), ("Book", "9"))
    assert result.errors is None
    assert result.data["_entities"] == [
        {"__typename": "Book", "id": "1", "title": "Book 1"},
        {"__typename": "Shipment", "id": "7", "status": "shipped 7"},
        {"__typename": "Book", "id": "2", "title": "Book 2"},
        None,
    ]
    assert len(queries) == 1  # the three books in one query


def test_in_a_plain_strawberry_schema_each_entity_resolves_on_its_own(books):
    schema = make_schema(plain=True)
    result = run(schema, ("Book", "2"), ("Book", "x"), ("Shipment", "3"))
    assert result.data["_entities"][0] == {"__typename": "Book", "id": "2", "title": "Book 2"}
    assert result.data["_entities"][1] is None
    assert result.data["_entities"][2]["status"] == "shipped 3"
    (error,) = result.errors
    assert "'x' is not a valid remoteshop.Book id" in error.message
    assert error.path == ["_entities", 1]
