"""What the gateway publishes: declared models, never a local table a remote's SDL names."""

from io import StringIO

import pytest
import strawberry
from django.contrib.auth.models import User
from django.core.checks import Error
from django.core.management import CommandError, call_command
from django.test import override_settings

from federated_fk.models import GenericContentType
from federated_fk.remote import RemoteObject
from graphql_gateway.checks import check_published
from graphql_gateway.schema import gateway_schema
from graphql_gateway.types import TypeRegistry

pytestmark = pytest.mark.django_db

#: shop_x's SDL, lying: its authors are this service's users, "shared".
LYING = """
type Book @key(fields: "id") @djangoModel(appLabel: "testapp", model: "book", pkType: "int") {
  id: ID!
  title: String!
  author: Author!
}
type Author @key(fields: "id")
    @djangoModel(appLabel: "auth", model: "user", pkType: "int", project: "shared") {
  id: ID!
}
type Query { books: [Book] }
"""
HONEST = LYING.replace('appLabel: "auth", model: "user"', 'appLabel: "sharedapp", model: "author"')
OLD = "# the schema stored by the last good run\n"
BOOKS = {"model": "testapp.Reference", "field": "content_object", "name": "Book"}


@pytest.fixture
def shop_x(settings, misbehaving, tmp_path):
    """A remote project whose SDL a real server answers with whatever the test sets."""
    settings.FEDERATION = {
        "PROJECT_NAME": "shop_a",
        "SHARED_APPS": ["sharedapp"],
        "PROJECTS": {"shop_x": {"URL": misbehaving.url, "TIMEOUT": 5}},
        "SCHEMA_DIR": str(tmp_path),
    }
    (tmp_path / "shop_x.graphql").write_text(OLD)
    return misbehaving


def serve(server, sdl):
    server.answer({"data": {"_service": {"sdl": sdl}}})


def sync():
    call_command("sync_remote_contenttypes", "shop_x", stdout=StringIO())


@pytest.mark.parametrize(
    ("sdl", "where"),
    [
        (LYING, "'Book.author' calls 'auth.user' 'shared'"),
        (LYING.replace("  author: Author!\n", ""), "'Author' calls 'auth.user' 'shared'"),
    ],
    ids=["a relation", "an entity"],
)
def test_sync_refuses_a_shared_claim_this_service_does_not_make(shop_x, tmp_path, sdl, where):
    serve(shop_x, sdl)
    with pytest.raises(CommandError) as raised:
        sync()
    message = str(raised.value)
    assert message.startswith("The schema of project 'shop_x' was refused, nothing was stored")
    assert where in message
    assert "FEDERATION['SHARED_APPS']" in message
    assert (tmp_path / "shop_x.graphql").read_text() == OLD
    assert not GenericContentType.objects.filter(project="shop_x").exists()


def test_sync_takes_a_shared_claim_this_service_makes(shop_x, tmp_path):
    serve(shop_x, HONEST)
    sync()
    book = GenericContentType.objects.get(project="shop_x", model="book")
    assert book.relations["author"]["project"] == "shared"
    author = book.model_class()._meta.get_field("author").related_model
    assert author._meta.label == "sharedapp.Author"


def test_a_stored_claim_from_before_the_rule_reads_from_the_remote(settings):
    """A row synchronized before the rule still never reads this service's users."""
    settings.FEDERATION = {**settings.FEDERATION, "PROJECTS": {"shop_x": {"URL": "http://x/"}}}
    ct = GenericContentType.objects.create(
        project="shop_x",
        app_label="testapp",
        model="book",
        type_name="Book",
        fields=["title", "author"],
        field_types={"title": "String!", "author": "Author!"},
        relations={
            "author": {
                "project": "shared",
                "app_label": "auth",
                "model": "user",
                "pk_type": "int",
                "many": False,
            }
        },
    )
    related = ct.model_class()._meta.get_field("author").related_model
    assert related is not User
    assert issubclass(related, RemoteObject)
    assert related._meta.project == "shop_x"


def test_a_stored_lying_schema_publishes_nothing_and_is_a_check_error(shop_x, tmp_path):
    """Stored before the rule: the gateway starts without the project's types."""
    (tmp_path / "shop_x.graphql").write_text(LYING)
    with override_settings(GRAPHQL_GATEWAY={"UNIONS": [{**BOOKS, "targets": ["testapp.book"]}]}):
        [error] = check_published()
        sdl = gateway_schema().as_str()
    assert error.id == "graphql_gateway.E007"
    assert "calls 'auth.user' 'shared'" in error.msg
    assert "leaves out every type of 'shop_x'" in error.msg
    assert "ShopX" not in sdl
    assert "User" not in sdl


def user_type_sdl(**gateway):
    """The SDL of auth.User as the gateway would publish it, reached through a relation."""
    with override_settings(GRAPHQL_GATEWAY={"UNIONS": [], **gateway}):
        registry = TypeRegistry({})
        user = registry.type_for((None, "auth", "user"))
        return strawberry.Schema(query=_query(user), types=list(registry.types.values())).as_str()


def _query(user_type):
    @strawberry.type
    class Query:
        user: user_type | None = None

    return Query


def test_a_model_reached_only_through_a_relation_publishes_its_id():
    sdl = user_type_sdl()
    assert "type ShopAUser {\n  id: ID!\n}" in sdl


def test_configured_fields_are_published_but_never_the_password():
    sdl = user_type_sdl(FIELDS={"auth.user": ["username", "password", "is_superuser"]})
    assert "username: String!" in sdl
    assert "isSuperuser: Boolean!" in sdl
    assert "password" not in sdl


def test_a_declared_target_publishes_its_fields_less_the_excluded_ones():
    union = {**BOOKS, "targets": ["testapp.book"]}
    with override_settings(GRAPHQL_GATEWAY={"UNIONS": [union]}):
        published = gateway_schema().as_str()
    with override_settings(
        GRAPHQL_GATEWAY={"UNIONS": [union], "EXCLUDE": {"testapp.book": ["title"]}}
    ):
        excluded = gateway_schema().as_str()
    book = published.split("type ShopABook")[1].split("}")[0]
    assert "title" in book
    assert "title" not in excluded.split("type ShopABook")[1].split("}")[0]


def test_a_published_field_named_like_a_secret_is_a_warning(shop_x, tmp_path):
    (tmp_path / "shop_x.graphql").write_text(
        HONEST.replace("title: String!", "title: String!\n  apiToken: String")
    )
    union = {**BOOKS, "targets": ["testapp.book"]}
    with override_settings(GRAPHQL_GATEWAY={"UNIONS": [union]}):
        messages = check_published()
    assert [(m.id, m.obj) for m in messages] == [("graphql_gateway.W001", "shop_x:testapp.book")]
    assert "ShopXBook.apiToken" in messages[0].msg
    with override_settings(
        GRAPHQL_GATEWAY={"UNIONS": [union], "EXCLUDE": {"shop_x:testapp.book": ["apiToken"]}}
    ):
        assert check_published() == []
        assert "apiToken" not in gateway_schema().as_str()


def test_a_relation_to_a_shared_model_not_installed_is_a_check_error(shop_x, settings, tmp_path):
    """Listed as shared, but its app is not installed: the field is left out, never a 500."""
    settings.FEDERATION = {**settings.FEDERATION, "SHARED_APPS": ["sharedapp", "authors"]}
    (tmp_path / "shop_x.graphql").write_text(
        HONEST.replace('appLabel: "sharedapp"', 'appLabel: "authors"')
    )
    union = {**BOOKS, "targets": ["testapp.book"]}
    with override_settings(GRAPHQL_GATEWAY={"UNIONS": [union]}):
        messages = check_published()
        sdl = gateway_schema().as_str()  # built, so the URLs import and requests answer
    assert [m.id for m in messages] == ["graphql_gateway.E006"]
    assert isinstance(messages[0], Error)
    assert "ShopXBook.author relates to authors.author, which is not installed" in messages[0].msg
    assert "type ShopXBook" in sdl
    assert "author" not in sdl.split("type ShopXBook")[1].split("}")[0]
