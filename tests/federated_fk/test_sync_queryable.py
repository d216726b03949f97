"""sync_remote_contenttypes stores what a remote type lets others query (``queryable``).

From a real subgraph process (shop_b), and refused, with nothing stored, when the SDL's
``query<T>`` declaration is malformed (a remote that says anything, ``misbehaving``).
"""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from federated_fk.models import GenericContentType
from federated_fk.sdl import entities
from tests.remoteshop.schema import schema

pytestmark = pytest.mark.django_db

TEXT = ["exact", "iexact", "contains", "icontains", "startswith", "istartswith"]
TEXT += ["endswith", "iendswith", "in", "isnull"]

BOOK = {
    "field": "queryBook",
    "filter_type": "BookFilter",
    "order_type": "BookOrder",
    "filters": {
        "title": TEXT,
        "price": ["exact", "in", "gt", "gte", "lt", "lte"],
        "author": ["exact", "icontains"],
        "id": ["exact", "in"],
        "editions__pages": ["gt", "isnull"],
    },
    "types": {
        "title": "String",
        "price": "Decimal",
        "author": "String",
        "id": "ID",
        "editions__pages": "Int",
    },
    "ordering": ["price", "title", "author"],
    "search": True,
    "max_limit": 100,
}


def test_sync_stores_each_types_declaration(synced):
    assert synced[("shop_b", "Book")].queryable == BOOK
    assert synced[("shop_c", "Book")].queryable == BOOK
    edition = synced[("shop_b", "Edition")].queryable
    assert edition["field"] == "queryEdition"
    assert edition["types"]["published_on"] == "Date"
    assert edition["filters"]["book__title"] == ["exact", "icontains", "isnull"]
    assert edition["ordering"] == ["price", "weight", "author__name"]
    # A type that declares nothing is not queryable.
    assert synced[("shop_b", "Audiobook")].queryable == {}
    assert synced[("shop_b", "Gadget")].queryable == {}


def test_a_changed_declaration_is_updated(synced, tmp_path):
    book = synced[("shop_b", "Book")]
    book.queryable = {"field": "queryBook", "filters": {}}
    book.save()
    out = StringIO()
    call_command("sync_remote_contenttypes", "shop_b", schema_dir=tmp_path, stdout=out)
    assert "updated shop_b | remoteshop.book (Book): queryable" in out.getvalue()
    book.refresh_from_db()
    assert book.queryable == BOOK


SDL = schema.as_str()


def tampered(old: str, new: str) -> str:
    assert old in SDL, old
    return SDL.replace(old, new, 1)


BAD = {
    "a lookup Django's vocabulary lacks": (
        tampered("  isnull: Boolean\n}", "  isnull: Boolean\n  regex: String\n}"),
        "Query.queryBook: 'editions__pages' has the lookup 'regex', which is not one of: contains,",
    ),
    "a path that is no Django path": (
        tampered("  editions__pages: BookEditions", "  editions____pages: BookEditions"),
        "BookFilter path 'editions____pages' is not a field path",
    ),
    "a path too long": (
        tampered("  editions__pages: BookEditions", f"  {'p' * 201}: BookEditions"),
        "BookFilter path 'pppp",
    ),
    "isnull not a Boolean": (
        tampered("  in: [String!]\n  isnull: Boolean", "  in: [String!]\n  isnull: String"),
        "'title''s isnull is not Boolean",
    ),
    "in not a list": (
        tampered("  in: [String!]\n  isnull", "  in: String\n  isnull"),
        "'title''s in is not a list of values",
    ),
    "no default limit": (
        tampered("limit: Int! = 100\n  ): BookQueryPage!", "limit: Int!\n  ): BookQueryPage!"),
        "Query.queryBook: its limit argument is not Int! with a default",
    ),
    "a page too large": (
        tampered(
            "limit: Int! = 100\n  ): BookQueryPage!", "limit: Int! = 100000\n  ): BookQueryPage!"
        ),
        "its largest page) from 1 to 10000",
    ),
    "an unknown argument": (
        tampered("    offset: Int! = 0\n", "    offset: Int! = 0\n    where: String\n"),
        "unknown arguments 'where'",
    ),
    "a page of another type": (
        tampered("  items: [Book!]!\n}", "  items: [Gadget!]!\n}"),
        "it does not answer a page { total: Int!, ids: [ID!]!, items: [Book!]! }",
    ),
    "no NOT": (
        tampered('  """This does not match."""\n  NOT: BookFilter\n', ""),
        "BookFilter.NOT is not BookFilter",
    ),
    "an order input of another shape": (
        tampered("  descending: Boolean! = false\n}", "  descending: String\n}"),
        "BookOrder is not { field: <enum>!, descending: Boolean! }",
    ),
    "search not a string": (
        tampered(
            "    search: String = null\n    orderBy: [BookOrder",
            "    search: Int\n    orderBy: [BookOrder",
        ),
        "its search argument is not String",
    ),
}


@pytest.fixture
def remote(settings, misbehaving, tmp_path):
    settings.FEDERATION = {
        "PROJECT_NAME": "shop_a",
        "SHARED_APPS": ["sharedapp"],
        "PROJECTS": {"shop_x": {"URL": misbehaving.url, "TIMEOUT": 5}},
    }

    def serve(sdl):
        misbehaving.answer({"data": {"_service": {"sdl": sdl}}})

    return serve


def test_the_untampered_schema_is_stored(remote, tmp_path):
    remote(SDL)
    call_command("sync_remote_contenttypes", schema_dir=tmp_path, stdout=StringIO())
    book = GenericContentType.objects.get(project="shop_x", type_name="Book")
    assert book.queryable == BOOK


@pytest.mark.parametrize(("sdl", "message"), BAD.values(), ids=list(BAD))
def test_a_malformed_declaration_refuses_the_schema(remote, tmp_path, sdl, message):
    remote(sdl)
    with pytest.raises(CommandError) as raised:
        call_command("sync_remote_contenttypes", schema_dir=tmp_path, stdout=StringIO())
    assert message in str(raised.value)
    assert "nothing was stored" in str(raised.value)
    assert not GenericContentType.objects.filter(project="shop_x").exists()
    assert not (tmp_path / "shop_x.graphql").exists()


def test_a_query_field_for_no_entity_type_is_ignored():
    sdl = SDL.replace("  queryBook(", "  queryNothing(", 1)
    (book,) = [e for e in entities(sdl, "shop_x") if e.type_name == "Book"]
    assert book.queryable is None
