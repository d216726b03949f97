"""A union's references filtered and ordered by their targets' fields, across services."""

import pytest
from asgiref.sync import async_to_sync

from federated_fk.models import GenericContentType
from graphql_gateway.generate import FederatedUnion
from graphql_gateway.schema import GatewayContext, gateway_schema
from tests.federated_fk import conftest as remote_fixtures
from tests.movieapp.models import Clip, Movie, Showing
from tests.sharedapp.models import Author

pytestmark = pytest.mark.django_db

federation = remote_fixtures.federation
synced_content_types = remote_fixtures.synced

PAGE = """
query ($offset: Int!, $limit: Int!, $orderBy: String, $filter: ScreeningFilter) {
  screenings(offset: $offset, limit: $limit, orderBy: $orderBy, filter: $filter) {
    totalCount
    items { __typename ... on ScreeningItem { id title } }
  }
}
"""


@pytest.fixture
def screenings(request, settings, tmp_path):
    """Showings of local and remote movies and clips, orderable and filterable by title."""
    synced = request.getfixturevalue("synced_content_types")
    settings.FEDERATION = {**settings.FEDERATION, "SCHEMA_DIR": str(tmp_path)}
    herbert = Author.objects.create(id=1, name="Frank Herbert")
    dune = Movie.objects.create(title="Dune", year=1984, director=herbert)
    alien = Movie.objects.create(title="Alien", year=1979, director=herbert)
    Clip.objects.create(title="Zardoz trailer", seconds=90, movie=dune)
    for target in [*Movie.objects.all(), *Clip.objects.all()]:
        Showing.objects.create(content_object=target)
    for project, type_name, pk in [
        ("shop_b", "Movie", 1),
        ("shop_b", "Clip", 11),
        ("shop_c", "Movie", 2),
        ("shop_b", "Movie", 99),  # no such movie: it sorts last
        ("shop_b", "Clip", 21),
    ]:
        Showing.objects.create(content_type=synced[(project, type_name)], object_id=str(pk))
    assert alien.pk
    for ct in GenericContentType.objects.all():
        GenericContentType.objects.get_for_id(ct.pk)
    union = FederatedUnion(
        "movieapp.Showing",
        "content_object",
        ["movieapp.movie", "movieapp.clip"],
        "Screening",
        target_ordering=["title"],
        filters={"title": ["icontains", "exact"]},
    )
    return gateway_schema([union])


def page(schema, **variables):
    variables = {"offset": 0, "limit": 20, **variables}
    result = async_to_sync(schema.execute)(
        PAGE, variable_values=variables, context_value=GatewayContext(None, None)
    )
    return result


def titles(result):
    return [item and item["title"] for item in result.data["screenings"]["items"]]


def test_ordering_by_title_equals_sorting_every_target_together(screenings, shop_b, shop_c):
    everything = page(screenings)
    assert everything.errors is None
    found = [t for t in titles(everything) if t is not None]
    for order, reverse in (("title", False), ("-title", True)):
        pages = []
        for offset in range(0, 8, 3):  # pages of 3: the merge holds across page boundaries
            result = page(screenings, offset=offset, limit=3, orderBy=order)
            assert result.errors is None, result.errors
            pages += titles(result)
        assert pages[: len(found)] == sorted(found, reverse=reverse)
        assert pages[len(found) :] == [None]  # the missing remote movie, last
    assert page(screenings, orderBy="title").data["screenings"]["totalCount"] == 8


def test_ordering_by_an_undeclared_field_is_refused(screenings):
    result = page(screenings, orderBy="year")
    assert result.data is None
    assert "orderBy must be one of" in result.errors[0].message
    assert "title" in result.errors[0].message


def test_a_filter_a_remote_member_does_not_declare_is_a_clear_error(screenings, shop_b, shop_c):
    """The test subgraphs declare no filter for movies: the page says so, and nothing else."""
    result = page(screenings, filter={"title": {"exact": "Dune"}})
    assert result.data is None
    assert "cannot be filtered that way" in result.errors[0].message
    assert "declares no" in result.errors[0].message or "filter" in result.errors[0].message
