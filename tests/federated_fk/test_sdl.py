"""Reading entity types from a subgraph's SDL (federated_fk.sdl)."""

from federated_fk.sdl import entities

SDL = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.11", import: ["@key"])

enum Genre { NOVEL POEM }

type Author { name: String! }

type Book @key(fields: "id")
  @djangoModel(appLabel: "books", model: "book", pkType: "int", listable: true) {
  id: ID!
  title: String!
  price: Decimal!
  genre: Genre
  author: Author!
}

type Gadget @key(fields: "id") @djangoModel(appLabel: "shop", model: "gadget", pkType: "uuid") {
  id: ID!
  name: String
}

type Plain @key(fields: "id") { id: ID! size: Int }

type Odd @key(fields: "id") @djangoModel(appLabel: "shop", model: "odd", pkType: "float") {
  id: ID!
}

scalar Decimal
type Query { hello: String }
"""


def test_entities_come_from_key_types_with_their_django_model():
    found = {e.type_name: e for e in entities(SDL, "shop_b")}
    assert sorted(found) == ["Book", "Gadget", "Odd", "Plain"]  # Author has no @key
    book = found["Book"]
    assert (book.app_label, book.model, book.pk_type, book.listable) == (
        "books",
        "book",
        "int",
        True,
    )
    # Scalars and enums are fields; an object type is not (yet) a field.
    assert book.fields == ("title", "price", "genre")
    assert dict(book.field_types) == {"title": "String!", "price": "Decimal!", "genre": "Genre"}
    assert found["Gadget"].pk_type == "uuid" and not found["Gadget"].listable


def test_an_entity_without_django_model_is_named_by_project_and_type():
    plain = {e.type_name: e for e in entities(SDL, "shop_b")}["Plain"]
    assert (plain.app_label, plain.model, plain.pk_type) == ("shop_b", "plain", "str")


def test_an_unknown_primary_key_type_converts_nothing():
    odd = {e.type_name: e for e in entities(SDL, "shop_b")}["Odd"]
    assert odd.pk_type == "str"
