"""Subgraph.entity(filter_fields=, ordering=, search_fields=): checked when declared; composes."""

import re

import pytest
from django.test import override_settings
from graphql import build_ast_schema, parse

from federated_fk.subgraph import Subgraph
from tests.federated_fk.subgraph.test_many_subgraphs_compose import (
    audio_and_authors,
    federation,
    write,
)
from tests.federated_fk.test_composition import compose  # noqa: F401
from tests.remoteshop import models
from tests.sharedapp.models import Author


def declare(model=models.Edition, **declaration):
    return Subgraph().entity(model, **declaration)


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        (
            {"filter_fields": {"titel": ["exact"]}},
            "remoteshop.Edition has no field 'titel'; choices are: author, binding, book, code,",
        ),
        (
            {"filter_fields": {"book__titel": ["exact"]}},
            "'book__titel': remoteshop.Book has no field 'titel'; choices are: author, editions,",
        ),
        (
            {"filter_fields": {"book": ["exact"]}},
            "'book' ends at the relation 'book'; name one of its fields (book__<field>), "
            "choices are: author, id, price, published, title",
        ),
        (
            {"filter_fields": {"pages__gt": ["exact"]}},
            "'pages' is not a relation, so nothing follows it",
        ),
        (
            {"filter_fields": {"pages": ["regex"]}},
            "names the lookup 'regex'; the lookups a declaration may allow are: contains, "
            "endswith, exact, gt, gte, icontains, iendswith, iexact, in, isnull, istartswith, "
            "lt, lte, startswith.",
        ),
        (
            {"filter_fields": {"pages": ["icontains"]}},
            "'pages' (Int) does not take the lookup 'icontains'; its lookups are: exact, gt, "
            "gte, in, isnull, lt, lte.",
        ),
        (
            {"filter_fields": {"in_print": ["gt"]}},
            "'in_print' (Boolean) does not take the lookup 'gt'; its lookups are: exact, isnull.",
        ),
        ({"filter_fields": {"extra": ["exact"]}}, "'extra' is a JSONField, which cannot be"),
        ({"filter_fields": {"pages": "exact"}}, "is a non-empty list of lookups"),
        ({"filter_fields": {"pages": []}}, "is a non-empty list of lookups"),
        ({"filter_fields": {"pages": ["gt", "gt"]}}, "repeats a lookup"),
        ({"filter_fields": ["pages"]}, "filter_fields is a mapping of paths to lookups"),
        ({"ordering": ["-price"]}, "declare 'price': callers choose the direction"),
        ({"ordering": "price"}, "ordering is a list of paths, not a string"),
        ({"ordering": ["price", "price"]}, "ordering names price twice"),
        (
            {"ordering": ["related__title"]},
            "goes through the to-many relation 'related', which gives a row many values",
        ),
        ({"search_fields": ["pages"]}, "search_fields 'pages' is a Int; a search matches text"),
        ({"search_fields": ["nope"]}, "has no field 'nope'; choices are"),
        ({"filter_fields": {"Ünicode": ["exact"]}}, "which is not a Django field path"),
    ],
)
def test_a_declaration_is_checked_when_declared(declaration, message):
    with pytest.raises(ValueError) as raised:
        declare(**declaration)
    assert message in str(raised.value)


def test_ordering_through_a_type_that_hides_rows_is_refused_when_built():
    subgraph = Subgraph()

    class Book:
        @classmethod
        def get_queryset(cls, queryset, info):
            return queryset.filter(published=True)

    subgraph.entity(models.Book, fields=["title"])(Book)
    subgraph.entity(models.Edition, fields=["pages", "book"], ordering=["book__title"])(
        type("Edition", (), {})
    )
    with pytest.raises(ValueError, match="whose entity type hides rows: ordering by it would"):
        subgraph.schema()


def test_a_generated_name_taken_by_another_type_is_refused():
    subgraph = Subgraph()
    subgraph.entity(models.Book, fields=["title"], ordering=["title"])(type("B", (), {}))
    subgraph.entity(models.Gadget, name="BookOrder")(type("G", (), {}))
    with pytest.raises(ValueError, match="Two entity types are named 'BookOrder'"):
        subgraph.schema()


def test_the_types_the_protocol_names():
    subgraph = Subgraph(max_query_limit=40)
    subgraph.entity(
        models.Edition,
        fields=["pages", "author"],
        filter_fields={"author__name": ["exact", "in", "isnull"], "pages": ["gt"]},
        ordering=["pages", "author__name"],
    )(type("E", (), {}))
    schema = build_ast_schema(parse(subgraph.schema().as_str()), assume_valid_sdl=True)
    fields = {name: str(f.type) for name, f in schema.type_map["EditionFilter"].fields.items()}
    assert fields == {
        "author__name": "EditionAuthor__nameLookup",
        "pages": "EditionPagesLookup",
        "AND": "[EditionFilter!]",
        "OR": "[EditionFilter!]",
        "NOT": "EditionFilter",
    }
    lookups = schema.type_map["EditionAuthor__nameLookup"].fields
    assert {n: str(f.type) for n, f in lookups.items()} == {
        "exact": "String",
        "in": "[String!]",
        "isnull": "Boolean",
    }
    assert list(schema.type_map["EditionOrderField"].values) == ["pages", "author__name"]
    order = schema.type_map["EditionOrder"].fields
    assert str(order["field"].type) == "EditionOrderField!"
    assert str(order["descending"].type) == "Boolean!"
    page = schema.type_map["EditionQueryPage"].fields
    assert {n: str(f.type) for n, f in page.items()} == {
        "total": "Int!",
        "ids": "[ID!]!",
        "items": "[Edition!]!",
    }
    root = schema.query_type.fields["queryEdition"]
    assert {n: str(a.type) for n, a in root.args.items()} == {
        "filter": "EditionFilter",
        "orderBy": "[EditionOrder!]",
        "offset": "Int!",
        "limit": "Int!",
    }  # no search_fields: no search argument
    assert str(root.type) == "EditionQueryPage!"
    assert "limit: Int! = 40" in subgraph.schema().as_str()


def test_max_query_limit_is_at_most_the_list_limit():
    with pytest.raises(ValueError, match="max_query_limit must be from 1 to 1000"):
        Subgraph(max_query_limit=1001)


def queryable_books(project: str) -> str:
    """A service like shop_b, whose books others may query."""
    with federation(project):
        subgraph = Subgraph(project_type_names=True)
        subgraph.entity(
            models.Book,
            fields=["title", "price"],
            listable=True,
            filter_fields={"title": ["exact", "icontains"], "price": ["lt", "gt"]},
            ordering=["price", "title"],
            search_fields=["title"],
        )(type("B", (), {}))
        subgraph.entity(models.Edition, fields=["price", "book", "author"])(type("E", (), {}))
        return subgraph.schema().as_str()


def queryable_authors(project: str) -> str:
    """The shared authors, queryable in this service too (the same rows everywhere)."""
    with federation(project):
        subgraph = Subgraph(project_type_names=True)
        subgraph.entity(
            Author, fields=["name"], filter_fields={"name": ["icontains"]}, ordering=["name"]
        )(type("Au", (), {}))
        return subgraph.schema().as_str()


def test_queryable_subgraphs_compose_with_the_other_library_subgraphs(compose, tmp_path):  # noqa: F811
    paths = write(
        tmp_path,
        shop_x=queryable_books("shop_x"),
        shop_y=queryable_books("shop_y"),
        shop_z=audio_and_authors("shop_z"),
        shop_v=queryable_authors("shop_v"),
        shop_w=queryable_authors("shop_w"),
    )
    result = compose(**paths)
    assert result.returncode == 0, result.stderr
    supergraph = result.stdout
    # Each project's query goes to that project's subgraph alone.
    for project, field in (("SHOP_X", "queryShopXBook"), ("SHOP_Y", "queryShopYBook")):
        assert graphs(supergraph, field) == [project]
    # The shared authors' query is shareable: either service that declares it answers.
    assert graphs(supergraph, "queryAuthor") == ["SHOP_V", "SHOP_W"]
    assert "input ShopXBookFilter" in supergraph and "input ShopYBookFilter" in supergraph


def graphs(supergraph: str, field: str) -> list[str]:
    """The subgraphs a root field is joined to (its arguments span several lines)."""
    after = supergraph.split(f"  {field}(", 1)[1]
    result_line = after.split("\n  ): ", 1)[1].split("\n", 1)[0]
    return re.findall(r"join__field\(graph: (\w+)\)", result_line)


@override_settings(FEDERATION={"PROJECT_NAME": "shop_q", "SHARED_APPS": ["sharedapp"]})
def test_a_shared_models_query_types_are_shareable():
    sdl = queryable_authors("shop_q")
    assert "type AuthorQueryPage @shareable" in sdl
    assert re.search(r"queryAuthor\([^)]*\): AuthorQueryPage! @shareable", sdl, re.S)
