"""The generated union over a non-book app: movies and clips, here and in shop_b."""

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test.utils import CaptureQueriesContext

from federated_fk.models import GenericContentType
from graphql_gateway.generate import FederatedUnion
from graphql_gateway.schema import GatewayContext, gateway_schema
from tests.federated_fk import conftest as remote_fixtures
from tests.movieapp.models import Clip, Movie, Showing
from tests.sharedapp.models import Author

pytestmark = pytest.mark.django_db

SCREENINGS = """
query ($type: String, $project: String) {
  screenings(limit: 20, type: $type, project: $project) {
    totalCount hasNextPage
    items {
      __typename
      ... on ScreeningItem { id title }
      ... on ShopAMovie { year director { name } }
      ... on ShopBMovie { year director { name } }
      ... on ShopAClip { seconds movie { title director { name } } }
      ... on ShopBClip { seconds movie { title director { name } } }
    }
  }
}
"""


# The real subgraph processes of tests/federated_fk, and their synchronized content types.
federation = remote_fixtures.federation
synced_content_types = remote_fixtures.synced


@pytest.fixture
def screenings(request, settings, tmp_path):
    """Showings of local and remote movies and clips, and the schema generated for them."""
    synced = request.getfixturevalue("synced_content_types")
    # The SDL the sync command stored is what the remote member types are made from.
    settings.FEDERATION = {**settings.FEDERATION, "SCHEMA_DIR": str(tmp_path)}
    herbert = Author.objects.create(id=1, name="Frank Herbert")
    Author.objects.create(id=2, name="Ōe Kenzaburō")
    dune = Movie.objects.create(title="Dune", year=1984, director=herbert)
    trailer = Clip.objects.create(title="Dune trailer", seconds=90, movie=dune)
    remote_movie = synced[("shop_b", "Movie")]
    remote_clip = synced[("shop_b", "Clip")]
    for target in [dune, trailer]:
        Showing.objects.create(content_object=target)
    for ct, pk in [(remote_movie, 1), (remote_clip, 11), (remote_clip, 21), (remote_movie, 99)]:
        Showing.objects.create(content_type=ct, object_id=str(pk))
    for ct in GenericContentType.objects.all():  # a warm cache, as in a running service
        GenericContentType.objects.get_for_id(ct.pk)
    union = FederatedUnion(
        "movieapp.Showing", "content_object", ["movieapp.movie", "movieapp.clip"], "Screening"
    )
    return gateway_schema([union])


def execute(schema, variables=None):
    context = GatewayContext(None, None)
    result = async_to_sync(schema.execute)(
        SCREENINGS, variable_values=variables or {}, context_value=context
    )
    return result


def test_local_and_remote_members_with_no_resolver_written(screenings, shop_b):
    sdl = screenings.as_str()
    members = "ShopAMovie | ShopAClip | ShopBMovie | ShopCMovie | ShopBClip | ShopCClip"
    assert f"union ScreeningResult = {members}" in sdl
    assert "interface ScreeningItem" in sdl
    with CaptureQueriesContext(connection) as queries:
        result = execute(screenings)
    assert result.errors is None, result.errors
    page = result.data["screenings"]
    assert (page["totalCount"], page["hasNextPage"]) == (6, False)
    items = page["items"]
    assert items[0] == {
        "__typename": "ShopAMovie",
        "id": str(Movie.objects.get().pk),
        "title": "Dune",
        "year": 1984,
        "director": {"name": "Frank Herbert"},
    }
    assert items[1]["movie"] == {"title": "Dune", "director": {"name": "Frank Herbert"}}
    assert [(i["__typename"], i["title"]) for i in items[2:5]] == [
        ("ShopBMovie", "B Movie 1"),
        ("ShopBClip", "B Clip 1.1"),
        ("ShopBClip", "B Clip 2.1"),
    ]
    assert items[2]["director"] == {"name": "Ōe Kenzaburō"}  # a shared author, read here
    assert items[4]["movie"] == {"title": "B Movie 2", "director": {"name": "Frank Herbert"}}
    assert items[5] is None  # no remote movie 99
    # Three levels (targets, the clips' movies, the directors): one _entities
    # request per level that reaches shop_b, whatever the number of items.
    stats = shop_b.stats()
    assert stats["graphql_requests"] == 2
    # The count and the page; the movies, the clips; the directors (the local
    # clip's movie was loaded on the first level, and is not read again).
    assert len(queries) == 5, [q["sql"] for q in queries]


def test_filter_by_type_and_project(screenings, shop_b):
    result = execute(screenings, {"type": "ShopBClip"})
    assert [i["title"] for i in result.data["screenings"]["items"]] == ["B Clip 1.1", "B Clip 2.1"]
    shop_b.stats(reset=True)
    result = execute(screenings, {"project": "shop_a"})
    titles = [i["title"] for i in result.data["screenings"]["items"]]
    assert titles == ["Dune", "Dune trailer"]
    assert shop_b.stats()["graphql_requests"] == 0  # nothing remote was asked for


def test_ordering_and_refused_arguments(screenings, shop_b):
    query = "query ($o: String) { screenings(limit: 2, orderBy: $o) { items { __typename } } }"
    result = async_to_sync(screenings.execute)(
        query, variable_values={"o": "-pk"}, context_value=GatewayContext(None, None)
    )
    assert result.data["screenings"]["items"] == [None, {"__typename": "ShopBClip"}]
    for variables, message in [
        ({"type": "Nope"}, "type must be one of ShopAMovie, ShopAClip, ShopBMovie, "),
        ({"project": "shop_z"}, "project must be one of shop_a, shop_b, shop_c, got 'shop_z'."),
    ]:
        result = execute(screenings, variables)
        assert result.errors[0].message.startswith(message)
    result = async_to_sync(screenings.execute)(
        query, variable_values={"o": "title"}, context_value=GatewayContext(None, None)
    )
    assert result.errors[0].message == "orderBy must be one of pk, -pk, got 'title'."


def test_a_malformed_local_id_is_a_missing_target_not_an_error(screenings, shop_b):
    ct = GenericContentType.objects.get_for_model(Movie)
    Showing.objects.create(content_type=ct, object_id="not-a-number")
    result = execute(screenings)
    assert result.errors is None
    assert result.data["screenings"]["items"][-1] is None


BOTH_WAYS = """
{
  screenings(limit: 20) {
    items {
      __typename
      ... on ShopAMovie {
        showings { screen contentObject { __typename ... on ShopAMovie { title } } }
      }
      ... on ShopAClip { showings { screen } }
      ... on ShopBMovie {
        showings { screen contentObject { ... on ShopBMovie { title director { name } } } }
      }
      ... on ShopBClip { showings(limit: 1) { screen } }
    }
  }
}
"""


@pytest.fixture
def both_ways(screenings):
    """The same showings, with each member listing the showings pointing at it."""
    union = FederatedUnion(
        "movieapp.Showing",
        "content_object",
        ["movieapp.movie", "movieapp.clip"],
        "Screening",
        related_name="showings",
    )
    return gateway_schema([union])


def test_the_rows_pointing_at_each_member_local_and_remote(both_ways, shop_b):
    sdl = both_ways.as_str()
    # Local members by their FederatedRelation, remote ones by related_name.
    for member in ["ShopAMovie", "ShopAClip", "ShopBMovie", "ShopBClip"]:
        block = sdl.split(f"type {member} ")[1].split("}")[0]
        assert "showings(offset: Int! = 0, limit: Int = null): [ShopAShowing!]!" in block
    showing = sdl.split("type ShopAShowing ")[1].split("}")[0]
    assert "contentObject: ScreeningResult" in showing
    assert "contentType" not in showing and "objectId" not in showing
    remote_clip = GenericContentType.objects.get_by_natural_key("shop_b", "movieapp", "clip")
    Showing.objects.create(content_type=remote_clip, object_id="11", screen=7)
    shop_b.stats(reset=True)
    with CaptureQueriesContext(connection) as queries:
        result = execute_query(both_ways, BOTH_WAYS)
    assert result.errors is None, result.errors
    items = result.data["screenings"]["items"]
    assert items[0]["showings"] == [
        {"screen": 1, "contentObject": {"__typename": "ShopAMovie", "title": "Dune"}}
    ]
    assert items[1] == {"__typename": "ShopAClip", "showings": [{"screen": 1}]}
    assert items[2]["showings"] == [
        {"screen": 1, "contentObject": {"title": "B Movie 1", "director": {"name": "Ōe Kenzaburō"}}}
    ]
    # Remote clip 11 has two showings here; the page asked for one of each clip.
    assert items[3] == {"__typename": "ShopBClip", "showings": [{"screen": 1}]}
    assert items[4] == {"__typename": "ShopBClip", "showings": [{"screen": 1}]}
    assert items[5] is None  # no remote movie 99
    # Levels: the targets (one _entities request); the showings pointing at
    # them; their targets again (already loaded: no request).
    assert shop_b.stats()["graphql_requests"] == 1
    sql = [q["sql"] for q in queries]
    # The count and the page; the local movies, clips; the showings of each
    # content type and page (movies, clips, remote movies, remote clips with
    # limit 1); the directors.
    assert len(sql) == 9, sql
    assert sum("ROW_NUMBER" in q.upper() for q in sql) == 4


def test_a_page_of_the_rows_pointing_at_one_target(both_ways, shop_b):
    remote_clip = GenericContentType.objects.get_by_natural_key("shop_b", "movieapp", "clip")
    for screen in [2, 3, 4]:
        Showing.objects.create(content_type=remote_clip, object_id="11", screen=screen)
    query = """query ($offset: Int!, $limit: Int) { screenings(type: "ShopBClip") { items {
        ... on ShopBClip { id showings(offset: $offset, limit: $limit) { screen } } } } }"""
    result = execute_query(both_ways, query, {"offset": 1, "limit": 2})
    assert result.errors is None, result.errors
    # Each showing is also an item of the list: clip 11 four times, clip 21 once.
    page = {"id": "11", "showings": [{"screen": 2}, {"screen": 3}]}
    assert result.data["screenings"]["items"] == [
        page,
        {"id": "21", "showings": []},
        page,
        page,
        page,
    ]
    result = execute_query(both_ways, query, {"offset": 0, "limit": 0})
    assert result.errors[0].message == "limit must be from 1 to 100, got 0."
    assert result.errors[0].path[-1] == "showings"


def execute_query(schema, query, variables=None):
    return async_to_sync(schema.execute)(
        query, variable_values=variables or {}, context_value=GatewayContext(None, None)
    )


def test_relations_may_form_a_cycle():
    import strawberry

    from graphql_gateway.targets import Target
    from graphql_gateway.types import TypeRegistry

    author = ("shop_x", "people", "author")
    book = ("shop_x", "library", "book")
    remote = {
        author: Target(*author, "ShopXAuthor", (("name", "String!"),), (("books", book, True),)),
        book: Target(*book, "ShopXBook", (("title", "String!"),), (("author", author, False),)),
    }
    registry = TypeRegistry(remote)
    root = registry.type_for(book)
    query = strawberry.type(type("Query", (), {"__annotations__": {"book": root}}))
    sdl = strawberry.Schema(query=query, types=list(registry.types.values())).as_str()
    assert "author: ShopXAuthor\n" in sdl
    assert "books: [ShopXBook!]!" in sdl
