"""Entity types shaped like their models: typed scalars, relations as references, stubs."""

import json
import re

import pytest
import strawberry
from asgiref.sync import async_to_sync
from django.db import connection
from django.test.utils import CaptureQueriesContext
from graphql import GraphQLEnumType, build_ast_schema, parse

from federated_fk.contract import read_directive
from federated_fk.subgraph import Subgraph
from tests.remoteshop import models
from tests.remoteshop.management.commands.seed_remoteshop import seed_editions
from tests.testapp import models as testapp_models

pytestmark = pytest.mark.django_db

EDITION = """
query ($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Edition {
      id price publishedOn printedAt opensAt code inPrint extra binding subtitle weight pages
      book { id title }
      author { id }
      related { id }
    }
  }
}
"""


@pytest.fixture
def editions():
    models.Book.objects.bulk_create(
        models.Book(id=i, title=f"Book {i}", author="A", price=i, published=i != 100)
        for i in range(1, 101)
    )
    seed_editions(books=100)


def post(client, query, variables=None):
    response = client.post(
        "/graphql/",
        json.dumps({"query": query, "variables": variables or {}}),
        content_type="application/json",
    )
    assert response.status_code == 200
    return response.json()


def reps(type_name, *ids):
    return {"representations": [{"__typename": type_name, "id": str(i)} for i in ids]}


def served_schema(client):
    sdl = post(client, "{ _service { sdl } }")["data"]["_service"]["sdl"]
    return build_ast_schema(parse(sdl), assume_valid_sdl=True)


def sdl_schema(schema):
    return build_ast_schema(parse(schema.as_str()), assume_valid_sdl=True)


def field_types(schema, type_name):
    return {name: str(f.type) for name, f in schema.type_map[type_name].fields.items()}


def model_directive(schema, type_name):
    (node,) = [
        d for d in schema.type_map[type_name].ast_node.directives if d.name.value == "djangoModel"
    ]
    return read_directive({a.name.value: a.value.value for a in node.arguments})


def test_each_model_field_gets_the_scalar_of_its_python_type(client):
    schema = served_schema(client)
    assert field_types(schema, "Edition") == {
        "id": "ID!",
        "price": "Decimal!",
        "publishedOn": "Date!",
        "printedAt": "DateTime!",
        "opensAt": "Time",
        "code": "UUID!",
        "inPrint": "Boolean!",
        "extra": "JSON",
        "binding": "String!",  # a field with choices keeps its base scalar
        "subtitle": "String!",
        "weight": "Float",
        "pages": "Int!",
        "book": "Book",  # nullable: null=True (and Book hides rows)
        "author": "Author!",
        "related": "[Book!]!",
    }
    enums = [t for n, t in schema.type_map.items() if isinstance(t, GraphQLEnumType)]
    # No field becomes an enum; the only enums are the declared orderings (queryBook, ...).
    names = sorted(t.name for t in enums if not t.name.startswith("__"))
    assert names == ["BookOrderField", "EditionOrderField"]


def test_a_related_model_without_an_entity_type_is_a_key_only_stub(client):
    schema = served_schema(client)
    assert field_types(schema, "Author") == {"id": "ID!"}
    key = next(d for d in schema.type_map["Author"].ast_node.directives if d.name.value == "key")
    assert {a.name.value: a.value.value for a in key.arguments} == {
        "fields": "id",
        "resolvable": False,
    }


def test_the_directive_names_the_project_that_owns_the_model(client):
    schema = served_schema(client)
    edition = model_directive(schema, "Edition")
    assert (edition.app_label, edition.model, edition.pk_type) == ("remoteshop", "edition", "int")
    assert edition.project == "shop_a"  # tests.settings: PROJECT_NAME
    assert model_directive(schema, "Author").project == "shared"  # SHARED_APPS


def test_entities_answer_each_scalar_in_its_wire_format(client, editions):
    body = post(client, EDITION, reps("Edition", 1, 2))
    assert "errors" not in body
    first, second = body["data"]["_entities"]
    assert first == {
        "id": "1",
        "price": "12.50",
        "publishedOn": "2024-02-29",
        "printedAt": "2024-03-01T07:30:15.123456+00:00",  # stored in UTC
        "opensAt": "09:15:30.500000",
        "code": "7d444840-9dc0-11d1-b245-5ffdce74fad2",
        "inPrint": True,
        "extra": {"tags": ["sci-fi", "Wüste"], "reprints": 3, "signed": None},
        "binding": "hardcover",
        "subtitle": "Der Wüstenplanet — 砂の惑星",
        "weight": 0.85,
        "pages": 412,
        "book": {"id": "1", "title": "Book 1"},
        "author": {"id": "1"},
        "related": [{"id": "2"}, {"id": "3"}],
    }
    assert second["opensAt"] is second["extra"] is second["weight"] is second["book"] is None
    assert (second["inPrint"], second["pages"], second["related"]) == (False, 0, [])


def test_hidden_rows_stay_hidden_behind_relations(client, editions):
    (third,) = post(client, EDITION, reps("Edition", 3))["data"]["_entities"]
    assert third["book"] is None  # book 100 is unpublished
    assert third["related"] == [{"id": "4"}]


def test_stubs_are_refused_by_entities(client, editions):
    body = post(
        client,
        "query ($representations: [_Any!]!) "
        "{ _entities(representations: $representations) { __typename } }",
        reps("Author", 1),
    )
    assert body["data"] is None
    assert body["errors"][0]["message"] == (
        "Unknown entity type 'Author'; this subgraph has: Audiobook, Book, Clip, Edition, Gadget, "
        "Movie."
    )


def test_a_batch_with_relations_costs_one_query_per_type_and_per_prefetch(client, editions):
    for i in range(4, 30):  # more editions: the count must not grow with them
        models.Edition.objects.create(
            id=i,
            price=1,
            published_on="2020-01-01",
            printed_at="2020-01-01T00:00Z",
            code="00000000-0000-4000-8000-000000000000",
            in_print=True,
            binding="paperback",
            pages=1,
            book_id=i,
            author_id=1 + i % 2,
        ).related.set([i, i + 1])
    with CaptureQueriesContext(connection) as queries:
        body = post(client, EDITION, reps("Edition", *range(1, 30)))
    assert "errors" not in body and len(body["data"]["_entities"]) == 29
    assert body["data"]["_entities"][10]["related"] == [{"id": "11"}, {"id": "12"}]
    # editions; their books (Book hides rows: a prefetch through get_queryset); their
    # related books. The stub Author comes from author_id: no query.
    assert len(queries) == 3, [q["sql"] for q in queries]


def entities(schema, query, type_name, *ids):
    result = async_to_sync(schema.execute)(query, variable_values=reps(type_name, *ids))
    assert result.errors is None, result.errors
    return result.data["_entities"]


def test_a_key_to_a_type_that_shows_every_row_is_joined(editions):
    subgraph = Subgraph()
    subgraph.entity(models.Edition, fields=["book", "author"])(type("Edition", (), {}))
    subgraph.entity(models.Book, fields=["title"])(type("Book", (), {}))
    schema = subgraph.schema()
    query = (
        "query ($representations: [_Any!]!) { _entities(representations: $representations) "
        "{ ... on Edition { id book { id title } author { id } } } }"
    )
    with CaptureQueriesContext(connection) as queries:
        rows = entities(schema, query, "Edition", 1, 2, 3)
    assert len(queries) == 1 and "JOIN" in queries[0]["sql"]  # select_related
    assert [r["book"] for r in rows] == [
        {"id": "1", "title": "Book 1"},
        None,
        {"id": "100", "title": "Book 100"},  # this Book type hides nothing
    ]
    assert field_types(sdl_schema(schema), "Edition")["book"] == "Book"


def test_reverse_relations_by_name_and_lists_of_stubs(editions):
    subgraph = Subgraph()
    subgraph.entity(models.Book, fields=["title", "editions", "related_editions"])(
        type("Book", (), {})
    )
    schema = subgraph.schema()
    assert field_types(sdl_schema(schema), "Book") == {
        "id": "ID!",
        "title": "String!",
        "editions": "[Edition!]!",
        "relatedEditions": "[Edition!]!",
    }
    query = (
        "query ($representations: [_Any!]!) { _entities(representations: $representations) "
        "{ ... on Book { id editions { id } relatedEditions { id } } } }"
    )
    with CaptureQueriesContext(connection) as queries:
        rows = entities(schema, query, "Book", 1, 3, 4)
    assert len(queries) == 3  # books, then one query per list
    assert rows == [
        {"id": "1", "editions": [{"id": "1"}], "relatedEditions": []},
        {"id": "3", "editions": [], "relatedEditions": [{"id": "1"}]},
        {"id": "4", "editions": [], "relatedEditions": [{"id": "3"}]},
    ]


def test_registration_order_does_not_matter(editions):
    subgraph = Subgraph()
    edition = subgraph.entity(models.Edition, fields=["book"])(type("Edition", (), {}))
    subgraph.entity(models.Book, fields=["title"], name="Volume")(type("Volume", (), {}))
    assert edition.__name__ == "Edition"  # the class itself, built by schema()
    types = field_types(sdl_schema(subgraph.schema()), "Edition")
    assert types["book"] == "Volume"
    with pytest.raises(ValueError, match="after the schema was built"):
        subgraph.entity(models.Gadget)


def test_outside_entities_relations_load_on_their_own(editions):
    subgraph = Subgraph()
    subgraph.entity(models.Edition, fields=["book", "author", "related"])(type("Edition", (), {}))
    subgraph.entity(models.Book, fields=["title"])(type("Book", (), {}))
    edition_type = subgraph.entities[0]

    @strawberry.type
    class Query:
        @strawberry.field
        async def edition(self, id: int) -> edition_type:
            return await models.Edition.objects.aget(pk=id)

    schema = subgraph.schema(query=Query)
    query = "{ edition(id: 3) { book { title } author { id } related { id } } }"
    result = async_to_sync(schema.execute)(query)
    assert result.errors is None, result.errors
    assert result.data["edition"] == {
        "book": {"title": "Book 100"},  # this Book type hides nothing
        "author": {"id": "1"},
        "related": [{"id": "4"}, {"id": "100"}],
    }


def test_two_models_of_one_type_name_fail_clearly():
    subgraph = Subgraph()
    subgraph.entity(models.Book)(type("Book", (), {}))
    subgraph.entity(testapp_models.Book, fields=["title"])(type("Book", (), {}))
    with pytest.raises(ValueError) as error:
        subgraph.schema()
    assert str(error.value) == (
        "Two entity types are named 'Book': remoteshop.Book and testapp.Book; pass name= "
        "to Subgraph.entity() for one of them (register a related model to name its type)."
    )


def test_a_stub_may_not_take_the_name_of_an_entity_type():
    subgraph = Subgraph()
    subgraph.entity(models.Edition, fields=["author"])(type("Edition", (), {}))
    subgraph.entity(models.Book, fields=["title"], name="Author")(type("Author", (), {}))
    with pytest.raises(
        ValueError, match=re.escape("'Author': remoteshop.Book and sharedapp.Author")
    ):
        subgraph.schema()


def test_choices_never_become_an_enum(settings):
    settings.STRAWBERRY_DJANGO = {"GENERATE_ENUMS_FROM_CHOICES": True}
    subgraph = Subgraph()
    subgraph.entity(models.Edition, fields=["binding"])(type("Edition", (), {}))
    schema = sdl_schema(subgraph.schema())
    assert field_types(schema, "Edition") == {"id": "ID!", "binding": "String!"}


def test_a_field_the_class_defines_takes_the_place_of_the_model_field(editions):
    @strawberry.type
    class Cover:
        colour: str

    class Edition:
        @strawberry.field
        def book(self) -> Cover:
            return Cover(colour="blue")

    subgraph = Subgraph()
    subgraph.entity(models.Edition, fields=["book", "pages"])(Edition)
    schema = subgraph.schema()
    assert field_types(sdl_schema(schema), "Edition")["book"] == "Cover!"
    query = (
        "query ($representations: [_Any!]!) { _entities(representations: $representations) "
        "{ ... on Edition { pages book { colour } } } }"
    )
    assert entities(schema, query, "Edition", 1) == [{"pages": 412, "book": {"colour": "blue"}}]


def test_a_name_that_is_not_a_model_field_fails_clearly():
    subgraph = Subgraph()
    subgraph.entity(models.Edition, fields=["pages", "colour"])(type("Edition", (), {}))
    with pytest.raises(ValueError, match=r"remoteshop.Edition has no field 'colour' to expose"):
        subgraph.schema()
