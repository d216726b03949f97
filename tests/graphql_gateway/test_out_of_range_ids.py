"""An id no row can have fails only its own item, on shop_a's gateway and its subgraph.

Real processes: shop_a and shop_b as the demo runs them, with fresh SQLite files
of their own (the references added here would change the shared ``shops``).
"""

import pytest

from tests.graphql_gateway.test_apollo import post
from tests.servers import DemoShops

#: Beyond a 64-bit integer: no SQLite (or PostgreSQL bigint) column holds it.
HUGE = "99999999999999999999"

BOOKS = """
{
  books(limit: 100) {
    totalCount
    items { __typename ... on ShopABook { id title } ... on ShopBBook { id title } }
  }
}
"""

ENTITIES = """
query ($representations: [_Any!]!) {
  _entities(representations: $representations) { __typename ... on ShopABook { id title } }
}
"""

ADD_REFERENCES = f"""
from federated_fk.models import GenericContentType
from books.models import Book, Reference
local = GenericContentType.objects.get_for_model(Book)
remote = GenericContentType.objects.get_by_natural_key("shop_b", "books", "book")
Reference.objects.create(content_type=local, object_id="{HUGE}")
Reference.objects.create(content_type=remote, object_id="{HUGE}")
Reference.objects.create(content_type=local, object_id="-{HUGE}")
"""


@pytest.fixture(scope="module")
def own_shops(tmp_path_factory):
    shops = DemoShops(tmp_path_factory.mktemp("out_of_range_shops")).start()
    yield shops
    shops.stop()


def entities(shops: DemoShops, *ids: object) -> dict:
    representations = [{"__typename": "ShopABook", "id": i} for i in ids]
    return post(f"{shops.url}/subgraph/", ENTITIES, {"representations": representations})


@pytest.mark.parametrize("bad", [2**66, -(2**66), HUGE, "1.5", " 2", "x", True, 2.0])
def test_a_bad_id_in_the_subgraphs_entities_fails_only_its_item(own_shops, bad):
    body = entities(own_shops, bad, "2", 3)
    found = body["data"]["_entities"]
    assert found[0] is None
    assert found[1:] == [
        {"__typename": "ShopABook", "id": "2", "title": found[1]["title"]},
        {"__typename": "ShopABook", "id": "3", "title": found[2]["title"]},
    ]
    assert [e["path"] for e in body["errors"]] == [["_entities", 0]]
    assert "is not a valid books.Book id" in body["errors"][0]["message"]


def test_the_subgraphs_entities_answer_good_ids_as_before(own_shops):
    body = entities(own_shops, "2", 3, "424242")
    assert "errors" not in body
    assert [e and e["id"] for e in body["data"]["_entities"]] == ["2", "3", None]


def test_stored_out_of_range_ids_null_only_their_own_items(own_shops):
    status, before = own_shops.query(BOOKS)
    assert status == 200 and "errors" not in before
    own_shops.manage("shop_a", "shell", "-c", ADD_REFERENCES)
    status, after = own_shops.query(BOOKS)
    assert status == 200
    page = after["data"]["books"]
    old = before["data"]["books"]
    assert page["totalCount"] == old["totalCount"] + 3
    # The newest references come last: each one a null item, the others as before.
    assert page["items"] == [*old["items"], None, None, None]
    # A stored id no row can have names no row: missing, as in a prefetch, local or remote.
    assert "errors" not in after


@pytest.mark.parametrize(
    ("representations", "message"),
    [
        ([{"__typename": "Nope", "id": "1"}], "Unknown entity type 'Nope'"),
        ([{"id": "1"}], "Unknown entity type None"),
        (["x"], "Unknown entity type None"),
        ([[]], "Unknown entity type None"),
        # Key-only stubs of another service's types: resolved by their own subgraph.
        ([{"__typename": "ShopBBook", "id": "5"}], "Unknown entity type 'ShopBBook'"),
        ([{"__typename": "Query", "id": "1"}], "Unknown entity type 'Query'"),
        ([{"__typename": ["ShopABook"], "id": "1"}], "Unknown entity type None"),
        ([{"__typename": {"a": 1}, "id": "1"}], "Unknown entity type None"),
    ],
)
def test_representations_the_subgraph_cannot_resolve_are_refused_clearly(
    own_shops, representations, message
):
    body = post(f"{own_shops.url}/subgraph/", ENTITIES, {"representations": representations})
    assert body["data"] is None
    assert message in body["errors"][0]["message"]
    assert "ShopABook" in body["errors"][0]["message"]  # what it does resolve


def test_a_representation_without_an_id_fails_alone(own_shops):
    representations = [{"__typename": "ShopABook"}, {"__typename": "ShopABook", "id": "2"}]
    body = post(f"{own_shops.url}/subgraph/", ENTITIES, {"representations": representations})
    assert body["data"]["_entities"][0] is None and body["data"]["_entities"][1]["id"] == "2"
    assert body["errors"] == [
        {
            "message": "A representation of ShopABook needs an id.",
            "locations": body["errors"][0]["locations"],
            "path": ["_entities", 0],
        }
    ]


def test_members_besides_the_key_are_not_passed_on(own_shops):
    representations = [{"__typename": "ShopABook", "id": "2", "cls": 1, "info": 2}]
    body = post(f"{own_shops.url}/subgraph/", ENTITIES, {"representations": representations})
    assert "errors" not in body, body
    assert body["data"]["_entities"][0]["id"] == "2"
